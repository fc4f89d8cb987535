-- OCI source totals for sp_cloud_2_reconcile_oci (template: ../sp_cloud_2_reconcile.sql),
-- from the raw rows: SUM(cost/myCost), as both BilledCost and EffectiveCost (OCI reports no
-- amortization).
--
-- A query with one row per usage day and billing currency of the run's source rows:
-- day, currency, n (rows), billed, effective, source_system. It may use the procedure's
-- arguments.
-- fragment slice_filter: common/slice_filter.sql
(
  SELECT
    x_pipeline_run_date AS day,
    cost_currencyCode AS currency,
    COUNT(*) AS n,
    SUM(IFNULL(cost_myCost, 0)) AS billed,
    SUM(IFNULL(cost_myCost, 0)) AS effective,
    'oci' AS source_system
  FROM `{project_id}.{dataset}.oci_cost_report_raw`
  WHERE {slice_filter}
  GROUP BY day, currency
)
