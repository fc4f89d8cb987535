-- 002: v_daily_cost_by_service, the FOCUS costs per day, service and currency: what the
-- dashboards and ad-hoc queries ask for most, without each re-deriving the grouping.
-- x_pipeline_run_date is the cost day every pipeline writes. CREATE OR REPLACE keeps a
-- re-run harmless.
CREATE OR REPLACE VIEW `{project_id}.{dataset}.v_daily_cost_by_service` AS
SELECT
  x_pipeline_run_date AS cost_date,
  ServiceCategory AS service_category,
  ServiceName AS service_name,
  BillingCurrency AS currency,
  SUM(BilledCost) AS billed_cost,
  SUM(EffectiveCost) AS effective_cost,
  COUNT(*) AS cost_rows
FROM `{project_id}.{dataset}.cost_data_standard_1_3`
GROUP BY cost_date, service_category, service_name, currency;
