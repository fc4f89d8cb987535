-- sp_subscription_2_calculate_daily_costs: spread each SaaS plan's price over its days.
--
-- Reads `subscription_plans`, writes `subscription_costs_daily`: one row per billed plan
-- (status 'active' or 'cancelled') per day of [p_start_date, p_end_date] that falls inside
-- the plan's [start_date, end_date] (end_date inclusive, null = open-ended).
--
-- Price of a day: the billing period's price (unit_price, x seats for per_seat plans, less
-- discount_pct) shared over the days of the calendar period holding the day: its month for
-- monthly plans, its year (365 or 366 days) for annual ones. A partial period (a plan that
-- starts or ends mid-month) is simply the sum of its days.
--
-- Rounding: NUMERIC keeps 9 decimals. Day k of an n-day period with price P costs
--   P * k / n - P * (k - 1) / n
-- (the running total, rounded, minus the previous running total, rounded). The sum over
-- days telescopes: a full period adds up to exactly P (not P give or take a rounding error
-- per day), any run of days to its prorated amount within 1e-9, and each day differs from
-- P / n by at most 1e-9.
--
-- Idempotent: a DELETE of the slice (x_org_slug, x_pipeline_id, x_credential_id, days of
-- the range), then an INSERT of its new rows; x_pipeline_run_date is the cost day. The
-- generic.procedure_executor step CALLs it in one transaction, so a failure after the
-- DELETE leaves the slice as it was. (Not MERGE ... ON FALSE, the one atomic statement: on
-- the emulator it costs target x source rows, bench/slice_replace.py.)
--
-- Written for both BigQuery and bqemulator 1.4, whose procedure parser pairs every BEGIN
-- with the next END: so no BEGIN TRANSACTION (the caller opens it), no CASE ... END and no
-- IF ... END IF in the body; RAISE crashes a CALL there and ASSERT is unknown, so checks
-- use ERROR() in a SELECT, reported by both as a 400 carrying the message.
-- Included (-- fragment lines): the signature (p_org_slug, p_start_date, p_end_date,
-- p_pipeline_id, p_credential_id, p_run_id) with its argument check, the run's slice
-- (the DELETE's filter), the lineage of its rows and the table's columns.
-- fragment procedure_start: common/procedure_start.sql
-- fragment slice_filter: common/slice_filter.sql
-- fragment run_lineage: common/run_lineage.sql
-- fragment costs_daily_columns: subscription/costs_daily_columns.sql
{procedure_start}

  -- A plan the formula cannot price fails the run rather than silently costing nothing.
  SELECT IF(
    COUNT(*) = 0,
    0,
    ERROR(CONCAT(
      'subscription_plans: ', CAST(COUNT(*) AS STRING), ' billed plan(s) cannot be priced ',
      '(need subscription_id, currency, start_date, unit_price >= 0, billing_cycle monthly|annual, ',
      'pricing_model flat|per_seat, seats >= 0 for per_seat, discount_pct 0-100), first: ',
      IFNULL(MIN(subscription_id), '(no subscription_id)')
    ))
  ) AS plans_ok
  FROM `{project_id}.{dataset}.subscription_plans`
  WHERE status IN ('active', 'cancelled')
    AND (start_date IS NULL OR start_date <= p_end_date)
    AND (end_date IS NULL OR end_date >= p_start_date)
    AND (
      subscription_id IS NULL OR currency IS NULL OR start_date IS NULL
      OR unit_price IS NULL OR unit_price < 0
      OR IFNULL(billing_cycle, '') NOT IN ('monthly', 'annual')
      OR IFNULL(pricing_model, '') NOT IN ('flat', 'per_seat')
      OR (pricing_model = 'per_seat' AND (seats IS NULL OR seats < 0))
      OR IFNULL(discount_pct, 0) NOT BETWEEN 0 AND 100
    );

  DELETE FROM `{project_id}.{dataset}.subscription_costs_daily` WHERE {slice_filter};

  INSERT INTO `{project_id}.{dataset}.subscription_costs_daily` ({costs_daily_columns})
  SELECT {costs_daily_columns}
  FROM (
    WITH plan_days AS (
      SELECT
        day AS cost_date,
        p.subscription_id,
        p.provider,
        IFNULL(p.product, p.provider) AS product,
        p.plan_name,
        p.billing_cycle,
        p.pricing_model,
        p.currency,
        IFNULL(p.category, 'Business Applications') AS category,
        IFNULL(p.subcategory, CONCAT('Other (', IFNULL(p.category, 'Business Applications'), ')'))
          AS subcategory,
        p.sub_account_id,
        p.sub_account_name,
        p.tags,
        IF(p.pricing_model = 'per_seat', p.seats, 1) AS quantity,
        p.unit_price,
        p.discount_pct,
        IF(p.billing_cycle = 'annual', DATE_TRUNC(day, YEAR), DATE_TRUNC(day, MONTH))
          AS period_start
      FROM `{project_id}.{dataset}.subscription_plans` AS p
      CROSS JOIN UNNEST(GENERATE_DATE_ARRAY(
        GREATEST(p.start_date, p_start_date),
        LEAST(IFNULL(p.end_date, p_end_date), p_end_date)
      )) AS day
      WHERE p.status IN ('active', 'cancelled')
        AND p.start_date <= p_end_date
        AND (p.end_date IS NULL OR p.end_date >= p_start_date)
    ),
    priced AS (
      SELECT
        *,
        DATE_DIFF(cost_date, period_start, DAY) + 1 AS day_index,
        DATE_DIFF(
          IF(billing_cycle = 'annual',
            DATE_ADD(period_start, INTERVAL 1 YEAR),
            DATE_ADD(period_start, INTERVAL 1 MONTH)),
          period_start,
          DAY
        ) AS period_days,
        unit_price * quantity AS period_list_price,
        unit_price * quantity * (1 - IFNULL(discount_pct, 0) / 100) AS period_price
      FROM plan_days
    )
    SELECT
      cost_date, subscription_id, provider, product, plan_name, billing_cycle, pricing_model,
      currency, category, subcategory, sub_account_id, sub_account_name, tags,
      quantity, unit_price, discount_pct, period_start, period_days,
      period_list_price * day_index / period_days
        - period_list_price * (day_index - 1) / period_days AS list_cost,
      period_price * day_index / period_days
        - period_price * (day_index - 1) / period_days AS daily_cost,
      {run_lineage},
      cost_date AS x_pipeline_run_date,
      'subscription' AS x_source_system
    FROM priced
  );
END;
