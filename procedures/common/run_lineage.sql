-- The lineage a procedure writes into each of its rows, from the arguments of
-- procedure_start.sql: included in a SELECT list, beside the row's own x_pipeline_run_date
-- (its usage day) and x_source_system.
p_org_slug AS x_org_slug,
p_pipeline_id AS x_pipeline_id,
p_credential_id AS x_credential_id,
p_run_id AS x_run_id,
CURRENT_TIMESTAMP() AS x_ingested_at,
CURRENT_DATE() AS x_ingestion_date
