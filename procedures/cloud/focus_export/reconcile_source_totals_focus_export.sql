-- FOCUS-export source totals for sp_cloud_2_reconcile_focus_export (template:
-- ../sp_cloud_2_reconcile.sql), from the raw rows: the export's own SUM(BilledCost) and
-- SUM(EffectiveCost).
--
-- A query with one row per usage day and billing currency of the run's source rows:
-- day, currency, n (rows), billed, effective, source_system. It may use the procedure's
-- arguments.
-- fragment slice_filter: common/slice_filter.sql
(
  SELECT
    x_pipeline_run_date AS day,
    BillingCurrency AS currency,
    COUNT(*) AS n,
    SUM(IFNULL(BilledCost, 0)) AS billed,
    SUM(IFNULL(EffectiveCost, 0)) AS effective,
    MIN(x_source_system) AS source_system
  FROM `{project_id}.{dataset}.focus_export_raw`
  WHERE {slice_filter}
  GROUP BY day, currency
)
