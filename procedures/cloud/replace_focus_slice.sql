-- Included by every sp_cloud_1_convert_to_focus_<provider> (-- fragment line) after
-- ../common/procedure_start.sql and its late_days declaration: the delete of the run's
-- slice of cost_data_standard_1_3 (the org's rows of the pipeline and credential on the
-- days the run replaces, cloud/run_days.sql), and the head of the INSERT of the
-- converter's rows, every FOCUS 1.3 and lineage column by name, brought to the FOCUS
-- rules of ../common/focus_conform.sql on the way in. It goes on with
-- "SELECT <those columns> FROM (<the converter's query>));" (two closing parentheses).
-- The rows go straight to the FOCUS table: the cloud.focus_convert step CALLs this
-- procedure and the reconciliation in one transaction and fails it, so nothing of it
-- stays, when a day does not reconcile (cloud/assert_reconciled.sql). One write of the
-- rows, not a staging copy and a second copy into the FOCUS table.
-- fragment run_days: cloud/run_days.sql
-- fragment focus_columns: common/focus_columns.sql
-- fragment lineage_columns: common/lineage_columns.sql
-- fragment focus_conform: common/focus_conform.sql
DELETE FROM `{project_id}.{dataset}.cost_data_standard_1_3`
  WHERE x_org_slug = p_org_slug AND x_pipeline_id = p_pipeline_id
    AND x_credential_id = p_credential_id AND {run_days};

  INSERT INTO `{project_id}.{dataset}.cost_data_standard_1_3` (
    {focus_columns},
    {lineage_columns}
  )
  SELECT {focus_conform}
  FROM (
