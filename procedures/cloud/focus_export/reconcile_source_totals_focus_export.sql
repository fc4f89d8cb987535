-- FOCUS-export source totals for sp_cloud_2_reconcile_focus_export_<provider> (template:
-- ../sp_cloud_2_reconcile.sql), from the raw rows: the export's own SUM(BilledCost) and
-- SUM(EffectiveCost).
--
-- A query with one row per usage day and billing currency of the run's source rows:
-- day, currency, n (rows), billed, effective. It may use the procedure's arguments.
(
  SELECT
    x_pipeline_run_date AS day,
    BillingCurrency AS currency,
    COUNT(*) AS n,
    SUM(IFNULL(BilledCost, 0)) AS billed,
    SUM(IFNULL(EffectiveCost, 0)) AS effective
  FROM `{project_id}.{dataset}.focus_export_raw`
  WHERE x_org_slug = p_org_slug AND x_pipeline_id = p_pipeline_id
    AND x_credential_id = p_credential_id
    AND x_pipeline_run_date BETWEEN p_start_date AND p_end_date
  GROUP BY day, currency
)
