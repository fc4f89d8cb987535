-- AWS CUR 2.0 rows staged by the aws.cur_load step -> the org's raw table (aws_cur_raw).
--
-- The staging table holds what the CUR files delivered (often the whole billing period,
-- re-delivered as AWS updates it); only usage days inside the run's window are taken, and
-- they replace the same days of the raw table in one MERGE (atomic; a rerun leaves the same
-- rows). Filled by shared.adapters.sql_files.render_sql; {columns} are the CUR columns.
MERGE `{project_id}.{dataset}.aws_cur_raw` AS target
USING (
  SELECT
    {columns},
    {org_slug} AS x_org_slug,
    {pipeline_id} AS x_pipeline_id,
    {credential_id} AS x_credential_id,
    DATE(line_item_usage_start_date) AS x_pipeline_run_date,
    {run_id} AS x_run_id,
    CURRENT_TIMESTAMP() AS x_ingested_at,
    'aws' AS x_source_system
  FROM `{project_id}.{dataset}.{staging_table}`
  WHERE DATE(line_item_usage_start_date) BETWEEN {start_date} AND {end_date}
) AS source
ON FALSE
WHEN NOT MATCHED BY SOURCE
  AND target.x_org_slug = {org_slug}
  AND target.x_pipeline_id = {pipeline_id}
  AND target.x_credential_id = {credential_id}
  AND target.x_pipeline_run_date BETWEEN {start_date} AND {end_date}
  THEN DELETE
WHEN NOT MATCHED THEN INSERT (
  {columns},
  x_org_slug, x_pipeline_id, x_credential_id, x_pipeline_run_date, x_run_id, x_ingested_at,
  x_source_system
) VALUES (
  {columns},
  x_org_slug, x_pipeline_id, x_credential_id, x_pipeline_run_date, x_run_id, x_ingested_at,
  x_source_system
);
