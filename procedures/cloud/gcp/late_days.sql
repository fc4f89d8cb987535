-- The usage days outside the run's window that this run's extract wrote raw GCP rows for
-- (late rows reopen days already converted: their FOCUS and reconciliation rows are
-- replaced too). Declared once after ../../common/procedure_start.sql by the GCP
-- conversion and reconciliation, so their DELETEs and reads filter the partition column
-- on constants (cloud/run_days.sql), which BigQuery prunes partitions by.
-- fragment run_filter: common/run_filter.sql
DECLARE late_days ARRAY<DATE> DEFAULT IFNULL((
    SELECT ARRAY_AGG(DISTINCT x_pipeline_run_date)
    FROM `{project_id}.{dataset}.gcp_billing_export_raw`
    WHERE {run_filter}
      AND x_pipeline_run_date NOT BETWEEN p_start_date AND p_end_date
  ), []);
