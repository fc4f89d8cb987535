"""Billing files from local paths, gs:// and s3://, read in batches.

May import domain and ports (the storage clients are imported on first use)."""
