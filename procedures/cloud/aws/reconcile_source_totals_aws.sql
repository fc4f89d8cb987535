-- AWS source totals for sp_cloud_2_reconcile_aws (template: ../sp_cloud_2_reconcile.sql),
-- from the raw CUR rows: BilledCost = SUM(line_item_unblended_cost), the invoice basis;
-- EffectiveCost = AWS's amortized cost, summed per line-item type (covered usage at its
-- effective cost, the unused part of RI and Savings Plan fees, prepaid and negation lines
-- at 0, everything else unblended; a covered line without its effective-cost column at its
-- unblended cost, as the converter does).
--
-- A query with one row per usage day and billing currency of the run's source rows:
-- day, currency, n (rows), billed, effective, source_system. It may use the procedure's
-- arguments.
-- fragment slice_filter: common/slice_filter.sql
(
  SELECT
    x_pipeline_run_date AS day,
    line_item_currency_code AS currency,
    COUNT(*) AS n,
    SUM(line_item_unblended_cost) AS billed,
    SUM(IF(line_item_line_item_type = 'SavingsPlanCoveredUsage',
          IFNULL(savings_plan_savings_plan_effective_cost, line_item_unblended_cost), 0))
      + SUM(IF(line_item_line_item_type = 'DiscountedUsage',
          IFNULL(reservation_effective_cost, line_item_unblended_cost), 0))
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
          0, line_item_unblended_cost)) AS effective,
    'aws' AS source_system
  FROM `{project_id}.{dataset}.aws_cur_raw`
  WHERE {slice_filter}
  GROUP BY day, currency
)
