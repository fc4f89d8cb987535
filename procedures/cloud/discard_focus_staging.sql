-- Remove a cloud run's rows from cost_data_standard_1_3_staging: after they were published,
-- or when they did not reconcile (the FOCUS table keeps its previous rows).
DELETE FROM `{project_id}.{dataset}.cost_data_standard_1_3_staging`
WHERE x_org_slug = {org_slug} AND x_pipeline_id = {pipeline_id}
  AND x_credential_id = {credential_id} AND x_run_id = {run_id};
