-- SUMMARY_SCHEDULED input: an org's BilledCost per ServiceCategory and currency over the
-- summary's days. Literals (render_sql): org_slug, start_date, end_date.
SELECT
  COALESCE(ServiceCategory, 'Uncategorized') AS category,
  BillingCurrency AS currency,
  SUM(BilledCost) AS total
FROM `{project_id}.{dataset}.cost_data_standard_1_3`
WHERE x_org_slug = {org_slug}
  AND x_pipeline_run_date BETWEEN {start_date} AND {end_date}
  AND BillingCurrency IS NOT NULL
GROUP BY category, currency
ORDER BY category, currency
