-- A cloud run's rows in cost_data_standard_1_3_staging, by literals (render_sql): org_slug,
-- pipeline_id, credential_id, run_id. Included after WHERE (unqualified columns).
x_org_slug = {org_slug} AND x_pipeline_id = {pipeline_id}
  AND x_credential_id = {credential_id} AND x_run_id = {run_id}
