-- COST_THRESHOLD input: an org's BilledCost per currency for each day a run covered
-- ('daily') and for each calendar month holding one of those days ('monthly', the month
-- so far). Compared with the org's thresholds by shared/handlers/cost_alerts.py.
-- Literals (render_sql): org_slug, start_date, end_date.
SELECT
  'daily' AS period,
  x_pipeline_run_date AS period_start,
  BillingCurrency AS currency,
  SUM(BilledCost) AS total
FROM `{project_id}.{dataset}.cost_data_standard_1_3`
WHERE x_org_slug = {org_slug}
  AND x_pipeline_run_date BETWEEN {start_date} AND {end_date}
  AND BillingCurrency IS NOT NULL
GROUP BY period, period_start, currency
UNION ALL
SELECT
  'monthly' AS period,
  -- DATE(...): the emulator's DATE_TRUNC yields a TIMESTAMP (BigQuery keeps a DATE)
  DATE(DATE_TRUNC(x_pipeline_run_date, MONTH)) AS period_start,
  BillingCurrency AS currency,
  SUM(BilledCost) AS total
FROM `{project_id}.{dataset}.cost_data_standard_1_3`
WHERE x_org_slug = {org_slug}
  AND x_pipeline_run_date BETWEEN DATE_TRUNC({start_date}, MONTH) AND LAST_DAY({end_date})
  AND BillingCurrency IS NOT NULL
GROUP BY period, period_start, currency
ORDER BY period, period_start, currency
