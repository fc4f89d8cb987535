-- The cloud.focus_convert step's check, inside its transaction, after the conversion and
-- the reconciliation CALLs: when any usage day and currency of this run's totals in
-- cloud_cost_reconciliation differ by more than the tolerance, ERROR() fails the script,
-- which rolls the whole transaction back (BigQuery; the embedded warehouse restores its
-- snapshots): the FOCUS table and the reconciliation keep what they had, and the error
-- names the first five pairs with both figures. A script statement rendered with literals
-- (render_sql): provider, tolerance, org_slug, pipeline_id, credential_id, run_id.
SELECT IF(COUNT(*) = 0, 0, ERROR(CONCAT(
    {provider}, ' FOCUS totals do not reconcile with the source on ', CAST(COUNT(*) AS STRING),
    ' day/currency pairs (tolerance ', CAST({tolerance} AS STRING), '): ',
    ARRAY_TO_STRING(ARRAY_AGG(FORMAT(
      '%s %s: BilledCost source %.6f vs FOCUS %.6f; EffectiveCost source %.6f vs FOCUS %.6f',
      CAST(x_pipeline_run_date AS STRING), billing_currency,
      CAST(source_billed_cost AS FLOAT64), CAST(focus_billed_cost AS FLOAT64),
      CAST(source_effective_cost AS FLOAT64), CAST(focus_effective_cost AS FLOAT64))
      ORDER BY x_pipeline_run_date, billing_currency LIMIT 5), '; '))))
  AS reconciled
FROM `{project_id}.{dataset}.cloud_cost_reconciliation`
WHERE x_org_slug = {org_slug} AND x_pipeline_id = {pipeline_id}
  AND x_credential_id = {credential_id} AND x_run_id = {run_id}
  AND (ABS(IFNULL(focus_billed_cost, 0) - IFNULL(source_billed_cost, 0)) > {tolerance}
    OR ABS(IFNULL(focus_effective_cost, 0) - IFNULL(source_effective_cost, 0)) > {tolerance});
