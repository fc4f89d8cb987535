-- Billing-file rows staged by a file-load step (aws.cur_load, azure.cost_export_load) ->
-- the provider's raw table in the org's dataset.
--
-- The staging table holds what the files delivered (often the whole billing period,
-- re-delivered as the provider updates it); only usage days inside the run's window are
-- taken, and they replace the same days of the raw table: DELETE + INSERT in one
-- transaction (atomic; a rerun leaves the same rows; MERGE ... ON FALSE would cost target x
-- source rows on the emulator). Filled by shared.adapters.bigquery.sql_files.render_sql; {columns} are the
-- provider's file columns, {usage_start_column} the TIMESTAMP that dates a row.
-- fragment lineage_columns: common/lineage_columns.sql
BEGIN TRANSACTION;

DELETE FROM `{project_id}.{dataset}.{raw_table}` AS target
WHERE target.x_org_slug = {org_slug}
AND target.x_pipeline_id = {pipeline_id}
AND target.x_credential_id = {credential_id}
AND target.x_pipeline_run_date BETWEEN {start_date} AND {end_date};

INSERT INTO `{project_id}.{dataset}.{raw_table}` ({columns}, {lineage_columns})
SELECT {columns}, {lineage_columns}
FROM (
  SELECT
    {columns},
    {org_slug} AS x_org_slug,
    {pipeline_id} AS x_pipeline_id,
    {credential_id} AS x_credential_id,
    DATE({usage_start_column}) AS x_pipeline_run_date,
    {run_id} AS x_run_id,
    CURRENT_TIMESTAMP() AS x_ingested_at,
    CURRENT_DATE() AS x_ingestion_date,
    {source_system} AS x_source_system
  FROM `{project_id}.{dataset}.{staging_table}`
  WHERE DATE({usage_start_column}) BETWEEN {start_date} AND {end_date}
) AS source;

COMMIT TRANSACTION;
