-- COST_THRESHOLD input: an org's BilledCost per currency for each day a run covered
-- ('daily') and for each calendar month holding one of those days ('monthly', the month
-- so far). Compared with the org's thresholds by shared/handlers/cost_alerts.py.
-- Literals (render_sql): org_slug, start_date, end_date.
-- One read of the months' days; each day's total is exact (NUMERIC), so a month's total is
-- the sum of its days'.
WITH days AS (
  SELECT x_pipeline_run_date AS day, BillingCurrency AS currency, SUM(BilledCost) AS total
  FROM `{project_id}.{dataset}.cost_data_standard_1_3`
  WHERE x_org_slug = {org_slug}
    AND x_pipeline_run_date BETWEEN DATE_TRUNC({start_date}, MONTH) AND LAST_DAY({end_date})
    AND BillingCurrency IS NOT NULL
  GROUP BY day, currency
)
SELECT 'daily' AS period, day AS period_start, currency, total
FROM days
WHERE day BETWEEN {start_date} AND {end_date}
UNION ALL
SELECT
  'monthly' AS period,
  -- DATE(...): the emulator's DATE_TRUNC yields a TIMESTAMP (BigQuery keeps a DATE)
  DATE(DATE_TRUNC(day, MONTH)) AS period_start,
  currency,
  SUM(total) AS total
FROM days
GROUP BY period, period_start, currency
ORDER BY period, period_start, currency
