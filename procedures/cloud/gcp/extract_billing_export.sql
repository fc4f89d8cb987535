-- GCP Cloud Billing export -> the org's raw copy (gcp_billing_export_raw), BigQuery to
-- BigQuery: no row passes through Python.
--
-- A script, not a stored procedure: the source table is named by the run's configuration
-- (another project/dataset), and identifiers cannot be procedure arguments. Filled by
-- shared.adapters.bigquery.sql_files.render_sql: validated identifiers, literal values; {columns} is
-- the export's top-level columns (standard or detailed schema).
--
-- Incremental by usage day. The days replaced are the run's window plus every usage day of
-- a row *exported* in the window (Google re-exports and late-posts rows for earlier days:
-- export_time moves, usage_start_time does not). Each of those days is copied whole from the
-- source and replaces the same day of the raw table (DELETE + INSERT in one transaction:
-- atomic; MERGE ... ON FALSE would cost target x source rows on the emulator), so re-extracting
-- a day replaces it and a rerun leaves the same rows.
-- Late rows reopen usage days at most {late_days} days before the window (the config's
-- late_days): older corrections need an explicit run over their own dates.
-- fragment export_days: cloud/gcp/export_days.sql
-- fragment lineage_columns: common/lineage_columns.sql
-- The days are computed once, into a variable, before the transaction: the DELETE and the
-- INSERT then filter on a constant list, which BigQuery prunes partitions by (the raw table
-- is partitioned on x_pipeline_run_date; a subquery in the filter would scan every
-- partition), and the source is read for the list once, not twice.
DECLARE replaced_days ARRAY<DATE> DEFAULT (
  SELECT ARRAY_AGG(DISTINCT day ORDER BY day) FROM ({export_days})
);

BEGIN TRANSACTION;

DELETE FROM `{project_id}.{dataset}.gcp_billing_export_raw` AS target
WHERE target.x_org_slug = {org_slug}
AND target.x_pipeline_id = {pipeline_id}
AND target.x_credential_id = {credential_id}
AND target.x_pipeline_run_date IN UNNEST(replaced_days);

INSERT INTO `{project_id}.{dataset}.gcp_billing_export_raw` (
  {columns}, x_export_row_id, {lineage_columns}
)
SELECT {columns}, x_export_row_id, {lineage_columns}
FROM (
  SELECT
    {columns},
    -- the row's key for the conversion's joins: a random id costs nothing per row, where
    -- ROW_NUMBER() OVER (PARTITION BY day) sorted every wide row and cost the extract as
    -- much as its copy (bench/focus_conversion.py), and an unpartitioned OVER () runs on
    -- a single BigQuery worker
    GENERATE_UUID() AS x_export_row_id,
    {org_slug} AS x_org_slug,
    {pipeline_id} AS x_pipeline_id,
    {credential_id} AS x_credential_id,
    DATE(usage_start_time) AS x_pipeline_run_date,
    {run_id} AS x_run_id,
    CURRENT_TIMESTAMP() AS x_ingested_at,
    CURRENT_DATE() AS x_ingestion_date,
    'gcp' AS x_source_system
  FROM `{source_project_id}.{source_dataset}.{source_table}`
  WHERE DATE(usage_start_time) IN UNNEST(replaced_days)
) AS source;

COMMIT TRANSACTION;
