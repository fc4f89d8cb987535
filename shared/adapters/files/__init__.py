"""Billing files from local paths, gs:// and s3://, read in batches."""
