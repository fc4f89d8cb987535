-- sp_subscription_3_convert_to_focus: daily SaaS subscription costs -> FOCUS 1.3 rows.
--
-- Reads the slice of `subscription_costs_daily` written by sp_subscription_2 for the same
-- (org, pipeline, credential, date range) and replaces the same slice of
-- `cost_data_standard_1_3`: a DELETE of the slice, then an INSERT of its rows, in the one
-- transaction the step CALLs it in (see sp_subscription_2): rerunning it leaves the same
-- rows.
--
-- Mapping decisions (one FOCUS row per plan per day):
-- * ChargeCategory 'Purchase', ChargeFrequency 'Recurring', PricingCategory 'Standard': a
--   subscription is bought for a period, not metered (so no ConsumedQuantity/Unit), and
--   recurs every period - the FOCUS SaaS examples model licence fees as Purchase rows. Each
--   row is that purchase's share for one day (ChargePeriod = the day).
-- * BilledCost = EffectiveCost = the day's discounted cost. We have no invoice feed, so the
--   daily share stands in for what is billed; the days of a period add up exactly to the
--   period's price. ListCost / ContractedCost = the unit prices below x PricingQuantity, to
--   the nano (../common/focus_conform.sql), so they differ from the day's share by
--   nano-units where the share carries a rounding remainder.
-- * PricingQuantity = seats (per_seat) or 1 (flat), priced per day: PricingUnit
--   'Seat-Days' / 'Subscription-Days' (FOCUS unit format "<unit>-<plural time unit>"), and
--   ListUnitPrice / ContractedUnitPrice are the prices of one seat (or the plan) for one day
--   of its billing period (rounded to the nano).
-- * Vendor in every provider role: ServiceProviderName, HostProviderName (a directly bought
--   SaaS is hosted by its vendor as far as the bill shows), InvoiceIssuerName, and the
--   deprecated ProviderName / PublisherName (1.3 asks generators to still emit them).
-- * BillingAccountId/Name = the org; SubAccount = the team or cost centre paying for it.
-- * Left null: AvailabilityZone, Region*, CapacityReservation*, CommitmentDiscount*,
--   Consumed*, ChargeClass, InvoiceId, ContractApplied and Allocated* (no contracts or
--   split allocation). PricingCurrency = the billing currency (plans are priced in it).
-- * BillingAccountType 'Customer Account': the org's account with the vendor, the one kind
--   of billing account a directly bought SaaS plan has (FOCUS 1.4 makes the column non-null).
-- Included (-- fragment lines): the signature (p_org_slug, p_start_date, p_end_date,
-- p_pipeline_id, p_credential_id, p_run_id) with its argument check, the FOCUS rules
-- every converter's rows pass, the FOCUS and lineage column lists, the columns left null,
-- the run's slice (the read and the DELETE) and the lineage of the rows.
-- fragment procedure_start: common/procedure_start.sql
-- fragment focus_conform: common/focus_conform.sql
-- fragment focus_columns: common/focus_columns.sql
-- fragment lineage_columns: common/lineage_columns.sql
-- fragment focus_left_null: common/focus_left_null.sql
-- fragment no_commitment: common/no_commitment.sql
-- fragment slice_filter: common/slice_filter.sql
-- fragment run_lineage: common/run_lineage.sql
{procedure_start}

  DELETE FROM `{project_id}.{dataset}.cost_data_standard_1_3` WHERE {slice_filter};

  INSERT INTO `{project_id}.{dataset}.cost_data_standard_1_3` (
    {focus_columns},
    x_subscription_id, x_plan_name, x_billing_cycle,
    {lineage_columns}
  )
  SELECT
    {focus_columns},
    x_subscription_id, x_plan_name, x_billing_cycle,
    {lineage_columns}
  FROM (
    SELECT {focus_conform} FROM (
    SELECT
      {focus_left_null},
      {no_commitment},
      CAST(NULL AS STRING) AS AvailabilityZone, CAST(NULL AS STRING) AS ChargeClass,
      CAST(NULL AS NUMERIC) AS ConsumedQuantity, CAST(NULL AS STRING) AS ConsumedUnit,
      CAST(NULL AS STRING) AS InvoiceId,
      CAST(NULL AS STRING) AS RegionId, CAST(NULL AS STRING) AS RegionName,
      d.daily_cost AS BilledCost,
      p_org_slug AS BillingAccountId,
      p_org_slug AS BillingAccountName,
      'Customer Account' AS BillingAccountType,
      d.currency AS BillingCurrency,
      -- Billing period: the calendar month, end exclusive.
      TIMESTAMP(DATE_ADD(DATE_TRUNC(d.cost_date, MONTH), INTERVAL 1 MONTH)) AS BillingPeriodEnd,
      TIMESTAMP(DATE_TRUNC(d.cost_date, MONTH)) AS BillingPeriodStart,
      'Purchase' AS ChargeCategory,
      CONCAT(
        d.product, ' ', d.plan_name, ' - ', d.billing_cycle, ' subscription',
        IF(d.pricing_model = 'per_seat', CONCAT(', ', CAST(d.quantity AS STRING), ' seats'), ''),
        ' (daily share)'
      ) AS ChargeDescription,
      'Recurring' AS ChargeFrequency,
      -- Charge period: the day, 00:00 UTC to the next day 00:00 UTC (exclusive).
      TIMESTAMP(DATE_ADD(d.cost_date, INTERVAL 1 DAY)) AS ChargePeriodEnd,
      TIMESTAMP(d.cost_date) AS ChargePeriodStart,
      d.daily_cost AS ContractedCost,
      d.unit_price * (1 - IFNULL(d.discount_pct, 0) / 100) / d.period_days AS ContractedUnitPrice,
      d.daily_cost AS EffectiveCost,
      d.provider AS HostProviderName,
      d.provider AS InvoiceIssuerName,
      d.list_cost AS ListCost,
      d.unit_price / d.period_days AS ListUnitPrice,
      'Standard' AS PricingCategory,
      -- priced in the billing currency: ../common/focus_conform.sql fills the rest
      d.currency AS PricingCurrency,
      NULL AS PricingCurrencyContractedUnitPrice,
      NULL AS PricingCurrencyEffectiveCost,
      NULL AS PricingCurrencyListUnitPrice,
      d.quantity AS PricingQuantity,
      IF(d.pricing_model = 'per_seat', 'Seat-Days', 'Subscription-Days') AS PricingUnit,
      d.provider AS ProviderName,
      d.provider AS PublisherName,
      d.subscription_id AS ResourceId,
      CONCAT(d.product, ' ', d.plan_name) AS ResourceName,
      'Subscription' AS ResourceType,
      d.category AS ServiceCategory,
      d.product AS ServiceName,
      d.provider AS ServiceProviderName,
      d.subcategory AS ServiceSubcategory,
      CONCAT(d.provider, ':', d.plan_name) AS SkuId,
      IF(d.pricing_model = 'per_seat', 'Seats', 'Subscription') AS SkuMeter,
      JSON_OBJECT('x_BillingCycle', d.billing_cycle, 'x_PricingModel', d.pricing_model)
        AS SkuPriceDetails,
      CONCAT(d.provider, ':', d.plan_name, ':', d.billing_cycle, ':', d.currency) AS SkuPriceId,
      d.sub_account_id AS SubAccountId,
      d.sub_account_name AS SubAccountName,
      IF(d.sub_account_id IS NULL, NULL, 'Team') AS SubAccountType,
      d.tags AS Tags,
      d.subscription_id AS x_subscription_id,
      d.plan_name AS x_plan_name,
      d.billing_cycle AS x_billing_cycle,
      {run_lineage},
      d.cost_date AS x_pipeline_run_date,
      'subscription' AS x_source_system
    FROM `{project_id}.{dataset}.subscription_costs_daily` AS d
    WHERE {slice_filter}
  ));
END;
