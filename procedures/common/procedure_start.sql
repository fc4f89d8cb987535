-- The start of every procedure called with a run's lineage slice: the cloud ones
-- (cloud/<provider>/sp_cloud_1_convert_to_focus_<provider>, sp_cloud_2_reconcile_<provider>)
-- and the genai / subscription ones, each naming it in a "-- fragment procedure_start:"
-- line (procedure named after the including file). The signature the steps call and the
-- check of its arguments.
CREATE OR REPLACE PROCEDURE `{project_id}.{dataset}`.{procedure}(
  p_org_slug STRING,
  p_start_date DATE,
  p_end_date DATE,
  p_pipeline_id STRING,
  p_credential_id STRING,
  p_run_id STRING
)
BEGIN
  -- A DECLARE, not a SELECT: BigQuery takes DECLAREs only before a body's first statement,
  -- and an including procedure may declare its own next (cloud/*/late_days.sql).
  DECLARE arguments_ok INT64 DEFAULT IF(
    p_org_slug IS NOT NULL AND p_pipeline_id IS NOT NULL AND p_credential_id IS NOT NULL
      AND p_run_id IS NOT NULL AND p_start_date <= p_end_date,
    0,
    ERROR('{procedure}: every argument is required and p_start_date must not be after p_end_date'));
