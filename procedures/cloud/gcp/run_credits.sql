-- The credits of the rows this run copied into gcp_billing_export_raw, one row per credit:
-- rc (the row's usage day, its x_export_row_id as row_id, its currency) beside the credit c.
-- The UNNEST reads a derived table that already holds only the run's rows with the array
-- as a top-level column (see sp_cloud_1_convert_to_focus_gcp.sql). Included after FROM
-- by the conversion and by reconcile_source_totals_gcp.sql.
-- fragment run_filter: common/run_filter.sql
(
  SELECT x_pipeline_run_date AS day, x_export_row_id AS row_id, currency, credits
  FROM `{project_id}.{dataset}.gcp_billing_export_raw`
  WHERE {run_filter}
) AS rc, UNNEST(rc.credits) AS c
