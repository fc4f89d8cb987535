-- Azure source totals for sp_cloud_2_reconcile_azure (template: ../sp_cloud_2_reconcile.sql),
-- from the raw rows: invoiced = SUM(cost) minus the cost the amortized export moved onto
-- commitment-covered usage (PricingModel Reservation/SavingsPlan usage and unused rows);
-- amortized = SUM(cost) minus reservation/savings-plan purchases and refunds (their cost is
-- on the usage already).
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
    IFNULL(SUM(CostInBillingCurrency), 0)
      - IFNULL(SUM(IF(PricingModel IN ('Reservation', 'SavingsPlan')
          AND ChargeType IN ('Usage', 'UnusedReservation', 'UnusedSavingsPlan'),
          CostInBillingCurrency, 0)), 0) AS billed,
    IFNULL(SUM(CostInBillingCurrency), 0)
      - IFNULL(SUM(IF(PricingModel IN ('Reservation', 'SavingsPlan')
          AND ChargeType IN ('Purchase', 'Refund'), CostInBillingCurrency, 0)), 0)
      AS effective,
    'azure' AS source_system
  FROM `{project_id}.{dataset}.azure_cost_details_raw`
  WHERE {slice_filter}
  GROUP BY day, currency
)
