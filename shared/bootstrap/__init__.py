"""Composition roots: the embedded runtime (SQLite, in-process bus, bqemulator) and
the cloud one (Firestore, Pub/Sub, BigQuery, KMS)."""
