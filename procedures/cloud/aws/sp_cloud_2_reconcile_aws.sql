-- sp_cloud_2_reconcile_aws: CUR totals vs FOCUS totals per usage day and billing currency.
--
-- Source side, from the raw CUR rows: BilledCost = SUM(line_item_unblended_cost), the
-- invoice basis; EffectiveCost = AWS's amortized cost, summed per line-item type (covered
-- usage at its effective cost, the unused part of RI and Savings Plan fees, prepaid and
-- negation lines at 0, everything else unblended). FOCUS side: SUM(BilledCost) and
-- SUM(EffectiveCost) of the rows this run wrote. Rows of cloud_cost_reconciliation for the
-- window are replaced; the calling step fails beyond a cent.
CREATE OR REPLACE PROCEDURE `{project_id}.{dataset}`.sp_cloud_2_reconcile_aws(
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
    CURRENT_TIMESTAMP(), 'aws'
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
        line_item_currency_code AS currency,
        COUNT(*) AS n,
        SUM(line_item_unblended_cost) AS billed,
        SUM(IF(line_item_line_item_type = 'SavingsPlanCoveredUsage',
              savings_plan_savings_plan_effective_cost, 0))
          + SUM(IF(line_item_line_item_type = 'DiscountedUsage', reservation_effective_cost, 0))
          + SUM(IF(line_item_line_item_type = 'SavingsPlanRecurringFee',
              IFNULL(savings_plan_total_commitment_to_date, 0)
                - IFNULL(savings_plan_used_commitment, 0), 0))
          + SUM(IF(line_item_line_item_type = 'RIFee',
              IFNULL(reservation_unused_amortized_upfront_fee_for_billing_period, 0)
                + IFNULL(reservation_unused_recurring_fee, 0), 0))
          + SUM(IF(line_item_line_item_type IN ('SavingsPlanCoveredUsage', 'DiscountedUsage',
                'SavingsPlanRecurringFee', 'RIFee', 'SavingsPlanNegation',
                'SavingsPlanUpfrontFee')
              OR (line_item_line_item_type = 'Fee' AND reservation_reservation_a_r_n IS NOT NULL),
              0, line_item_unblended_cost)) AS effective
      FROM `{project_id}.{dataset}.aws_cur_raw`
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
