-- ANOMALY_DETECTED input: for each day a run covered, every (ServiceName, currency) whose
-- BilledCost jumped from the previous day by more than {factor} times and by at least
-- {min_amount}. A service with no row the previous day is not compared (a first day of
-- data is not a jump). Literals (render_sql): org_slug, start_date, end_date, factor,
-- min_amount.
WITH daily AS (
  SELECT
    x_pipeline_run_date AS cost_date,
    ServiceName AS service_name,
    BillingCurrency AS currency,
    SUM(BilledCost) AS cost
  FROM `{project_id}.{dataset}.cost_data_standard_1_3`
  WHERE x_org_slug = {org_slug}
    AND x_pipeline_run_date BETWEEN DATE_SUB({start_date}, INTERVAL 1 DAY) AND {end_date}
    AND ServiceName IS NOT NULL
    AND BillingCurrency IS NOT NULL
  GROUP BY cost_date, service_name, currency
)
SELECT
  cur.cost_date,
  cur.service_name,
  cur.currency,
  prev.cost AS previous_cost,
  cur.cost AS cost
FROM daily AS cur
JOIN daily AS prev
  ON prev.service_name = cur.service_name
  AND prev.currency = cur.currency
  AND prev.cost_date = DATE_SUB(cur.cost_date, INTERVAL 1 DAY)
WHERE cur.cost_date BETWEEN {start_date} AND {end_date}
  AND cur.cost - prev.cost >= {min_amount}
  AND cur.cost > prev.cost * {factor}
ORDER BY cur.cost_date, cur.service_name, cur.currency
