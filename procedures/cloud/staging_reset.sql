-- Included by every sp_cloud_1_convert_to_focus_<provider> (render_sql fragments), after
-- ../common/procedure_start.sql. The conversion writes to cost_data_standard_1_3_staging, not to
-- cost_data_standard_1_3: the step reconciles the staged rows with the source and only then
-- replaces the org's slice with them (one transaction, publish_focus_slice.sql), so a
-- conversion that does not reconcile leaves the FOCUS table as it was. Rows an earlier
-- attempt of this run staged are dropped first.
  DELETE FROM `{project_id}.{dataset}.cost_data_standard_1_3_staging` AS target
  WHERE target.x_org_slug = p_org_slug
    AND target.x_pipeline_id = p_pipeline_id
    AND target.x_credential_id = p_credential_id
    AND target.x_run_id = p_run_id;
