-- A cloud run's reconciled FOCUS rows -> the org's cost_data_standard_1_3, every provider.
--
-- A script, not a procedure: BEGIN TRANSACTION cannot sit in a procedure body on the
-- emulator. Run by the cloud.focus_convert step only after the staged rows reconciled with
-- the source. The slice replaced is the run's window plus every day the run staged (GCP late
-- rows reopen earlier days): DELETE + INSERT in one transaction, so readers never see it half
-- done and a rerun leaves the same rows. (Not MERGE ... ON FALSE: on the emulator that join
-- costs target rows x source rows.) The run's staged rows are removed after the commit.
-- Included (-- fragment lines): the run's staged rows, the FOCUS rules every converter's
-- rows pass, and the removal of the staged rows.
-- fragment staged_run_rows: cloud/staged_run_rows.sql
-- fragment focus_conform: common/focus_conform.sql
-- fragment discard_staging: cloud/discard_focus_staging.sql
-- The staged days, once, into a variable: the DELETE filters the partition column on
-- constants (the window and that list), which BigQuery prunes partitions by; a subquery
-- there would scan the whole FOCUS history.
DECLARE staged_days ARRAY<DATE> DEFAULT (
  SELECT ARRAY_AGG(DISTINCT x_pipeline_run_date)
  FROM `{project_id}.{dataset}.cost_data_standard_1_3_staging`
  WHERE {staged_run_rows}
);

BEGIN TRANSACTION;

DELETE FROM `{project_id}.{dataset}.cost_data_standard_1_3` AS target
WHERE target.x_org_slug = {org_slug}
  AND target.x_pipeline_id = {pipeline_id}
  AND target.x_credential_id = {credential_id}
  AND (target.x_pipeline_run_date BETWEEN {start_date} AND {end_date}
    OR target.x_pipeline_run_date IN UNNEST(staged_days));

-- The staged rows pass the FOCUS rules of ../common/focus_conform.sql on the way in.
INSERT INTO `{project_id}.{dataset}.cost_data_standard_1_3` ({columns})
SELECT {columns}
FROM (
  SELECT {focus_conform}
  FROM `{project_id}.{dataset}.cost_data_standard_1_3_staging`
  WHERE {staged_run_rows});

COMMIT TRANSACTION;

-- After the commit: inside the transaction the emulator would snapshot the staging table.
{discard_staging}
