"""Cloud billing sources (GCP, AWS) -> FOCUS 1.3: mappings, sample data, reconciliation."""
