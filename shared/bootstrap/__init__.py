"""Composition roots: the embedded runtime (SQLite, in-process bus, bqemulator), the cloud
one (Firestore, Pub/Sub, BigQuery, KMS), and lazy.py, the services a function builds on
its first message.

May import every layer below it (domain, ports, config, adapters, processors, handlers);
never entrypoints, demo or devtools."""
