-- Remove a cloud run's rows from cost_data_standard_1_3_staging: after they were published,
-- or when they did not reconcile (the FOCUS table keeps its previous rows).
-- fragment staged_run_rows: cloud/staged_run_rows.sql
DELETE FROM `{project_id}.{dataset}.cost_data_standard_1_3_staging`
WHERE {staged_run_rows};
