-- OCI source totals for sp_cloud_2_reconcile_oci (template: ../sp_cloud_2_reconcile.sql),
-- from the raw rows: SUM(cost/myCost), as both BilledCost and EffectiveCost (OCI reports no
-- amortization).
--
-- A query with one row per usage day and billing currency of the run's source rows:
-- day, currency, n (rows), billed, effective. It may use the procedure's arguments.
(
  SELECT
    x_pipeline_run_date AS day,
    cost_currencyCode AS currency,
    COUNT(*) AS n,
    SUM(IFNULL(cost_myCost, 0)) AS billed,
    SUM(IFNULL(cost_myCost, 0)) AS effective
  FROM `{project_id}.{dataset}.oci_cost_report_raw`
  WHERE x_org_slug = p_org_slug AND x_pipeline_id = p_pipeline_id
    AND x_credential_id = p_credential_id
    AND x_pipeline_run_date BETWEEN p_start_date AND p_end_date
  GROUP BY day, currency
)
