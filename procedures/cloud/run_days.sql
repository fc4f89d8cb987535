-- The usage days a cloud run replaces: its window and the late days its raw rows reopened
-- (late_days, declared by gcp/late_days.sql or no_late_days.sql). Included after WHERE or
-- AND over one table (unqualified columns); the partition column against constants only.
(x_pipeline_run_date BETWEEN p_start_date AND p_end_date
  OR x_pipeline_run_date IN UNNEST(late_days))
