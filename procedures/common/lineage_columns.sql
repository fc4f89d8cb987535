-- The lineage columns every row a pipeline writes carries (LINEAGE_COLUMNS of
-- shared/domain/focus.py): the slice key (org, pipeline, credential, usage day), then which
-- run wrote the row, when, from which source. Rows get them from run_lineage.sql.
x_org_slug, x_pipeline_id, x_credential_id, x_pipeline_run_date, x_run_id, x_ingested_at,
x_ingestion_date, x_source_system
