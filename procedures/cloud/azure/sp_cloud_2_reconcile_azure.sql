-- sp_cloud_2_reconcile_azure: cost-details totals vs FOCUS totals per day and currency.
--
-- Source side, from the raw rows: invoiced = SUM(cost) minus the cost the amortized export
-- moved onto commitment-covered usage (PricingModel Reservation/SavingsPlan usage and unused
-- rows); amortized = SUM(cost) minus reservation/savings-plan purchases and refunds (their
-- cost is on the usage already). FOCUS side: SUM(BilledCost), SUM(EffectiveCost) of the rows
-- this run wrote. The window's rows of cloud_cost_reconciliation are replaced.
CREATE OR REPLACE PROCEDURE `{project_id}.{dataset}`.sp_cloud_2_reconcile_azure(
  p_org_slug STRING,
  p_start_date DATE,
  p_end_date DATE,
  p_pipeline_id STRING,
  p_credential_id STRING,
  p_run_id STRING
)
BEGIN
  -- Replace the slice: delete it, then insert. The caller wraps the CALL in a
  -- transaction (BEGIN TRANSACTION; CALL ...; COMMIT TRANSACTION), so readers never
  -- see it half done. (Not MERGE ... ON FALSE: on the emulator that join costs
  -- target rows x source rows.)
  DELETE FROM `{project_id}.{dataset}.cloud_cost_reconciliation` AS target
  WHERE target.x_org_slug = p_org_slug
    AND target.x_pipeline_id = p_pipeline_id
    AND target.x_credential_id = p_credential_id
    AND target.x_pipeline_run_date BETWEEN p_start_date AND p_end_date;

  INSERT INTO `{project_id}.{dataset}.cloud_cost_reconciliation` (
    billing_currency, source_rows, focus_rows, source_billed_cost, focus_billed_cost,
    source_effective_cost, focus_effective_cost,
    x_org_slug, x_pipeline_id, x_credential_id, x_pipeline_run_date, x_run_id,
    x_ingested_at, x_source_system
  )
  SELECT
    currency, source_rows, focus_rows, source_billed_cost, focus_billed_cost,
    source_effective_cost, focus_effective_cost,
    p_org_slug, p_pipeline_id, p_credential_id, day, p_run_id,
    CURRENT_TIMESTAMP(), 'azure'
  FROM (
    SELECT
      COALESCE(s.day, f.day) AS day,
      COALESCE(s.currency, f.currency) AS currency,
      IFNULL(s.n, 0) AS source_rows,
      IFNULL(f.n, 0) AS focus_rows,
      PARSE_NUMERIC(FORMAT('%.9f', IFNULL(s.billed, 0))) AS source_billed_cost,
      IFNULL(f.billed, 0) AS focus_billed_cost,
      PARSE_NUMERIC(FORMAT('%.9f', IFNULL(s.effective, 0))) AS source_effective_cost,
      IFNULL(f.effective, 0) AS focus_effective_cost
    FROM (
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
          AS effective
      FROM `{project_id}.{dataset}.azure_cost_details_raw`
      WHERE x_org_slug = p_org_slug AND x_pipeline_id = p_pipeline_id
        AND x_credential_id = p_credential_id
        AND x_pipeline_run_date BETWEEN p_start_date AND p_end_date
      GROUP BY day, currency
    ) AS s
    FULL OUTER JOIN (
      SELECT
        x_pipeline_run_date AS day,
        BillingCurrency AS currency,
        COUNT(*) AS n,
        SUM(BilledCost) AS billed,
        SUM(EffectiveCost) AS effective
      FROM `{project_id}.{dataset}.cost_data_standard_1_3`
      WHERE x_org_slug = p_org_slug AND x_pipeline_id = p_pipeline_id
        AND x_credential_id = p_credential_id AND x_run_id = p_run_id
      GROUP BY day, currency
    ) AS f
    ON s.day = f.day AND s.currency = f.currency
  ) AS source;
END;
