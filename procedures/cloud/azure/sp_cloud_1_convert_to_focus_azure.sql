-- sp_cloud_1_convert_to_focus_azure: the org's raw Azure cost details -> FOCUS 1.3 rows.
--
-- Replaces the window's usage days of the run's slice of cost_data_standard_1_3 with the
-- converted rows (a rerun leaves the same rows); the step CALLs it and the reconciliation
-- in one transaction that fails, leaving the table as it was, when a day does not
-- reconcile. One FOCUS row per cost-details row. Written for the *amortized* export (it has every row the actual one has, plus the
-- unused-commitment rows, with reservation/savings-plan purchases spread onto usage);
-- mapping decisions follow the FinOps toolkit's conversion where FOCUS leaves a choice:
-- * BilledCost = CostInBillingCurrency (EA: Cost), except 0 on usage covered by a
--   reservation or savings plan (and its unused rows): the purchase row carries that money
--   on the invoice. EffectiveCost = the same, except 0 on reservation/savings-plan purchase
--   and refund rows (their cost is already spread onto the usage). With an *actual* export
--   the covered usage rows are 0 already, so the same rules give BilledCost right and
--   EffectiveCost = BilledCost (no amortization).
-- * ChargeCategory from ChargeType: Usage, UnusedReservation, UnusedSavingsPlan -> Usage;
--   Purchase, Refund -> Purchase (Refund with ChargeClass 'Correction'); Tax -> Tax;
--   Credit -> Credit; RoundingAdjustment and anything else -> Adjustment.
--   ChargeFrequency from Frequency (OneTime, Recurring, UsageBased).
-- * CommitmentDiscountId = BenefitId (EA: ReservationId): '/microsoft.capacity/' ->
--   Category 'Usage', Type 'Reservation'; '/microsoft.billingbenefits/' -> 'Spend',
--   'Savings Plan'. Status 'Unused' on Unused* rows, else 'Used' on usage.
--   PricingCategory from PricingModel: OnDemand -> Standard, Spot -> Dynamic,
--   Reservation/SavingsPlan -> Committed (Usage and Purchase rows only).
-- * BillingAccount = the billing profile for MCA (what is invoiced), the enrollment (EA
--   BillingAccountId) otherwise, the subscription when the file has neither (a version-1
--   pay-as-you-go usage export: the subscription is what is billed); SubAccount =
--   subscription. Version-1 usage exports (UsageDateTime, PreTaxCost, Currency) are read
--   into the same raw columns with ChargeType 'Usage' (they held usage only). BillingPeriodEnd and
--   ChargePeriodEnd are exclusive: the export's last day / the row's Date plus one day.
-- * ServiceName = MeterCategory, else ProductName, else 'Microsoft Billing' (rounding
--   adjustments carry no meter) (ServiceCategory from configs/system/mappings/
--   azure_services.yml); Marketplace rows (PublisherType 'Marketplace'):
--   ServiceProviderName/PublisherName = PublisherName, HostProviderName 'Microsoft'.
-- * ResourceType = the ARM resource type in the ResourceId: the namespace after its last
--   '/providers/' and each type segment of the type/name pairs that follow
--   ('.../providers/Microsoft.Sql/servers/s1/databases/d1' -> 'Microsoft.Sql/servers/
--   databases'); null for an id without that shape (e.g. an EA InstanceName that is not an
--   ARM id). CommitmentDiscountQuantity/Unit stay null: cost details carry a reservation
--   row's Quantity in its meter's unit (not normalized for instance-size flexibility) and
--   purchase rows' Quantity as a count of reservations, so neither is the commitment's
--   quantity (Microsoft's own FOCUS export leaves them null too). No capacity reservation
--   or allocation columns exist in cost details.
-- * Prices: UnitPrice, PayGPrice and EffectivePrice are in PricingCurrency; the billing-
--   currency unit prices multiply by ExchangeRatePricingToBilling. A row with a negative
--   price (a refund) keeps the price's size and moves the sign to the quantity.
-- * Money and quantities leave FLOAT64 through ../focus_from_float.sql (whole nano-units).
-- Included (-- fragment lines): the signature and argument check, the days late rows
-- reopen, the slice delete and the head of the INSERT with the FOCUS columns' FLOAT64 ->
-- NUMERIC rounding (replace_focus_slice_float), the columns no native conversion fills, the lineage of the
-- rows, the service category and mapping, and the slice.
-- fragment procedure_start: common/procedure_start.sql
-- fragment late_days: cloud/no_late_days.sql
-- fragment replace_focus_slice_float: cloud/replace_focus_slice_float.sql
-- fragment focus_left_null: common/focus_left_null.sql
-- fragment run_lineage: common/run_lineage.sql
-- fragment service_category: cloud/service_category.sql
-- fragment service_mapping: cloud/service_mapping.sql
-- fragment slice_filter: common/slice_filter.sql
{procedure_start}
  {late_days}

  {replace_focus_slice_float}
    SELECT
      CAST(NULL AS STRING) AS AvailabilityZone,
      c.billed AS BilledCost,
      COALESCE(c.BillingProfileId, c.BillingAccountId, c.SubscriptionId) AS BillingAccountId,
      COALESCE(c.BillingProfileName, c.BillingAccountName, c.SubscriptionName)
        AS BillingAccountName,
      IF(c.BillingProfileId IS NOT NULL, 'Billing Profile',
        IF(c.BillingAccountId IS NOT NULL, 'Billing Account', 'Subscription'))
        AS BillingAccountType,
      c.BillingCurrency AS BillingCurrency,
      TIMESTAMP_ADD(IFNULL(c.BillingPeriodEndDate,
        TIMESTAMP(DATE_SUB(DATE_ADD(DATE_TRUNC(DATE(c.Date), MONTH), INTERVAL 1 MONTH),
          INTERVAL 1 DAY))), INTERVAL 1 DAY) AS BillingPeriodEnd,
      IFNULL(c.BillingPeriodStartDate, TIMESTAMP(DATE_TRUNC(DATE(c.Date), MONTH)))
        AS BillingPeriodStart,
      c.charge_category AS ChargeCategory,
      IF(c.ChargeType = 'Refund', 'Correction', NULL) AS ChargeClass,
      CONCAT(c.service_name, ': ', IFNULL(c.MeterName, c.ChargeType))
        AS ChargeDescription,
      IF(c.Frequency = 'OneTime', 'One-Time',
        IF(c.Frequency = 'Recurring', 'Recurring',
          IF(c.charge_category = 'Purchase', 'One-Time', 'Usage-Based'))) AS ChargeFrequency,
      TIMESTAMP_ADD(c.Date, INTERVAL 1 DAY) AS ChargePeriodEnd,
      c.Date AS ChargePeriodStart,
      IF(c.commitment_id IS NULL, NULL, IF(c.is_savings_plan, 'Spend', 'Usage'))
        AS CommitmentDiscountCategory,
      c.commitment_id AS CommitmentDiscountId,
      IF(c.commitment_id IS NULL, NULL, c.BenefitName) AS CommitmentDiscountName,
      IF(c.commitment_id IS NULL OR c.charge_category != 'Usage', NULL,
        IF(STARTS_WITH(c.ChargeType, 'Unused'), 'Unused', 'Used')) AS CommitmentDiscountStatus,
      IF(c.commitment_id IS NULL, NULL, IF(c.is_savings_plan, 'Savings Plan', 'Reservation'))
        AS CommitmentDiscountType,
      -- no commitment quantity or unit in cost details (header)
      CAST(NULL AS FLOAT64) AS CommitmentDiscountQuantity,
      CAST(NULL AS STRING) AS CommitmentDiscountUnit,
      IF(c.charge_category = 'Usage' AND NOT STARTS_WITH(c.ChargeType, 'Unused')
        AND c.UnitOfMeasure IS NOT NULL, c.Quantity, NULL) AS ConsumedQuantity,
      IF(c.charge_category = 'Usage' AND NOT STARTS_WITH(c.ChargeType, 'Unused')
        AND c.Quantity IS NOT NULL, c.UnitOfMeasure, NULL) AS ConsumedUnit,
      IFNULL(c.UnitPrice * c.Quantity * c.rate, c.cost) AS ContractedCost,
      c.UnitPrice * c.rate AS ContractedUnitPrice,
      c.effective AS EffectiveCost,
      'Microsoft' AS HostProviderName,
      c.InvoiceId AS InvoiceId,
      'Microsoft' AS InvoiceIssuerName,
      IFNULL(c.PaygCostInBillingCurrency, c.cost) AS ListCost,
      c.PayGPrice * c.rate AS ListUnitPrice,
      IF(c.charge_category NOT IN ('Usage', 'Purchase'), NULL,
        IF(c.commitment_id IS NOT NULL OR c.PricingModel IN ('Reservation', 'SavingsPlan'),
          'Committed', IF(c.PricingModel = 'Spot', 'Dynamic', 'Standard'))) AS PricingCategory,
      c.PricingCurrency AS PricingCurrency,
      c.UnitPrice AS PricingCurrencyContractedUnitPrice,
      SAFE_DIVIDE(c.effective, c.rate) AS PricingCurrencyEffectiveCost,
      c.PayGPrice AS PricingCurrencyListUnitPrice,
      IF(c.UnitOfMeasure IS NULL, NULL, c.Quantity) AS PricingQuantity,
      IF(c.Quantity IS NULL, NULL, c.UnitOfMeasure) AS PricingUnit,
      c.service_provider AS ProviderName,
      c.service_provider AS PublisherName,
      c.ResourceLocation AS RegionId,
      c.ResourceLocation AS RegionName,
      c.ResourceId AS ResourceId,
      REGEXP_EXTRACT(c.ResourceId, r'([^/]+)$') AS ResourceName,
      -- drop the name after each type: Microsoft.X/type1/name1/type2/name2 -> .../type1/type2
      REGEXP_REPLACE(
        REGEXP_EXTRACT(c.ResourceId, r'(?i)^.*/providers/([^/]+(?:/[^/]+/[^/]+)+)$'),
        r'/([^/]+)/[^/]+', r'/\1') AS ResourceType,
      {service_category},
      c.service_name AS ServiceName,
      c.service_provider AS ServiceProviderName,
      c.ProductId AS SkuId,
      c.MeterName AS SkuMeter,
      IF(c.MeterId IS NULL, NULL, JSON_OBJECT(
        'x_MeterId', c.MeterId,
        'x_MeterSubCategory', c.MeterSubCategory,
        'x_ConsumedService', c.ConsumedService)) AS SkuPriceDetails,
      c.MeterId AS SkuPriceId,
      c.SubscriptionId AS SubAccountId,
      c.SubscriptionName AS SubAccountName,
      IF(c.SubscriptionId IS NULL, NULL, 'Subscription') AS SubAccountType,
      c.Tags AS Tags,
      {focus_left_null},
      {run_lineage},
      c.x_pipeline_run_date AS x_pipeline_run_date,
      'azure' AS x_source_system
    FROM (
      SELECT
        -- A refund's negative unit price is a price for a negative quantity: FOCUS unit
        -- prices are never negative, the cost (and so the quantity) carries the sign.
        k.* REPLACE (
          IF(k.UnitPrice < 0 OR k.PayGPrice < 0, -k.Quantity, k.Quantity) AS Quantity,
          ABS(k.UnitPrice) AS UnitPrice,
          ABS(k.PayGPrice) AS PayGPrice),
        IF(k.commits AND k.charge_category = 'Usage', 0, k.cost) AS billed,
        IF(k.commits AND k.ChargeType IN ('Purchase', 'Refund'), 0, k.cost) AS effective,
        k.service_name AS service_key
      FROM (
        SELECT
          r.*,
          IFNULL(r.CostInBillingCurrency, 0) AS cost,
          IFNULL(r.ExchangeRatePricingToBilling, 1) AS rate,
          IF(r.ChargeType IN ('Usage', 'UnusedReservation', 'UnusedSavingsPlan'), 'Usage',
            IF(r.ChargeType IN ('Purchase', 'Refund'), 'Purchase',
              IF(r.ChargeType = 'Tax', 'Tax',
                IF(r.ChargeType = 'Credit', 'Credit', 'Adjustment')))) AS charge_category,
          r.PricingModel IN ('Reservation', 'SavingsPlan') AS commits,
          IF(r.ChargeType IN ('Usage', 'UnusedReservation', 'UnusedSavingsPlan', 'Purchase',
              'Refund'), NULLIF(r.BenefitId, ''), NULL) AS commitment_id,
          STRPOS(LOWER(IFNULL(r.BenefitId, '')), '/microsoft.billingbenefits/') > 0
            AS is_savings_plan,
          IF(r.PublisherType = 'Marketplace', IFNULL(r.PublisherName, 'Azure Marketplace'),
            'Microsoft') AS service_provider,
          -- rows with no meter (rounding adjustments) still need a ServiceName
          COALESCE(r.MeterCategory, r.ProductName, 'Microsoft Billing') AS service_name,
          'azure' AS mapping_provider
        FROM `{project_id}.{dataset}.azure_cost_details_raw` AS r
        WHERE {slice_filter}
      ) AS k
    ) AS c
    {service_mapping}
  ));
END;
