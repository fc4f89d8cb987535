-- sp_cloud_1_convert_to_focus_gcp: the org's raw GCP billing export -> FOCUS 1.3 rows.
--
-- Converts the usage days this run touched: the window, plus any day the extract reopened
-- for late rows (raw rows carrying p_run_id), and replaces those days of
-- cost_data_standard_1_3 in one MERGE ... ON FALSE (atomic; a rerun leaves the same rows).
-- One FOCUS row per export row. Mapping decisions (where FOCUS leaves a choice):
-- * BilledCost = EffectiveCost = cost + SUM(credits.amount). GCP applies every credit
--   (CUD, sustained use, free tier, promotions) on the invoice line it belongs to, so the
--   invoice total is cost + credits (Google's own FOCUS view does the same). Commitment
--   fees are billed daily in arrears, not prepaid: nothing to amortize, so EffectiveCost
--   equals BilledCost on every row, the CUD fee row included.
-- * ListCost = cost_at_list (cost when absent); ContractedCost = cost (negotiated price,
--   before credits); ContractedUnitPrice = price.effective_price (detailed export) else
--   cost / usage.amount_in_pricing_units; ListUnitPrice = cost_at_list / that quantity.
-- * ChargeCategory from cost_type: regular -> Usage ('Commitment ...' SKUs, the CUD fee ->
--   Purchase, Recurring); tax -> Tax; rounding_error -> Adjustment; adjustment -> Adjustment,
--   or Credit when it is a net credit that corrects nothing (goodwill, promotional).
--   ChargeClass 'Correction' for adjustments of type *_CORRECTION (they fix usage already
--   invoiced). ChargeFrequency: Usage and Tax 'Usage-Based', Purchase 'Recurring',
--   Credit/Adjustment 'One-Time'.
-- * CommitmentDiscountId = subscription.instance_id (fee rows) or the id of the CUD credit
--   on covered usage; Status 'Used' on covered usage; Category 'Spend' for dollar-based
--   CUDs, else 'Usage'; PricingCategory 'Committed' with a commitment, 'Dynamic' for
--   Spot/Preemptible SKUs, else 'Standard' (Usage and Purchase rows only).
-- * ServiceProviderName/ProviderName/PublisherName = the Marketplace seller for
--   THIRD_PARTY_* rows, else 'Google Cloud'; HostProviderName 'Google Cloud';
--   InvoiceIssuerName 'Google' (the seller for THIRD_PARTY_AGENCY, which it invoices).
-- * SubAccount = the project (not the billing account); BillingAccountName is not in the
--   export (null). BillingPeriod = invoice.month (UTC month, end exclusive).
-- * Tags = user labels, then system labels, project labels and resource-manager tags
--   ('namespace/key'), the first one winning on a key clash.
-- * PricingCurrency 'USD' with the USD figures (cost / currency_conversion_rate): GCP
--   prices SKUs in USD and converts to the billing currency.
-- * Money leaves FLOAT64 through PARSE_NUMERIC(FORMAT('%.9f', x)): exact to the nanounit
--   (CAST(FLOAT64 AS NUMERIC) is valid too, but the emulator truncates it to 3 decimals).
CREATE OR REPLACE PROCEDURE `{project_id}.{dataset}`.sp_cloud_1_convert_to_focus_gcp(
  p_org_slug STRING,
  p_start_date DATE,
  p_end_date DATE,
  p_pipeline_id STRING,
  p_credential_id STRING,
  p_run_id STRING
)
BEGIN
  SELECT IF(
    p_org_slug IS NOT NULL AND p_pipeline_id IS NOT NULL AND p_credential_id IS NOT NULL
      AND p_run_id IS NOT NULL AND p_start_date <= p_end_date,
    0,
    ERROR('sp_cloud_1_convert_to_focus_gcp: every argument is required and p_start_date must not be after p_end_date')
  ) AS arguments_ok;

  MERGE `{project_id}.{dataset}.cost_data_standard_1_3` AS target
  USING (
    SELECT
      PARSE_NUMERIC(FORMAT('%.9f', c.net_cost)) AS BilledCost,
      c.billing_account_id AS BillingAccountId,
      CAST(NULL AS STRING) AS BillingAccountName,
      'Billing Account' AS BillingAccountType,
      c.currency AS BillingCurrency,
      TIMESTAMP(DATE_ADD(c.invoice_month, INTERVAL 1 MONTH)) AS BillingPeriodEnd,
      TIMESTAMP(c.invoice_month) AS BillingPeriodStart,
      c.charge_category AS ChargeCategory,
      IF(ENDS_WITH(IFNULL(c.adjustment_info.type, ''), '_CORRECTION'), 'Correction', NULL)
        AS ChargeClass,
      IFNULL(c.adjustment_info.description, CONCAT(c.service.description, ': ', c.sku.description))
        AS ChargeDescription,
      IF(c.charge_category IN ('Usage', 'Tax'), 'Usage-Based',
        IF(c.charge_category = 'Purchase', 'Recurring', 'One-Time')) AS ChargeFrequency,
      c.usage_end_time AS ChargePeriodEnd,
      c.usage_start_time AS ChargePeriodStart,
      IF(c.commitment_id IS NULL, NULL,
        IF(c.cud_type = 'COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE'
          OR REGEXP_CONTAINS(c.sku.description, r'(?i)dollar|spend'), 'Spend', 'Usage'))
        AS CommitmentDiscountCategory,
      c.commitment_id AS CommitmentDiscountId,
      IF(c.commitment_id IS NULL, NULL, IFNULL(c.cud_name, c.sku.description))
        AS CommitmentDiscountName,
      IF(c.commitment_id IS NOT NULL AND c.charge_category = 'Usage', 'Used', NULL)
        AS CommitmentDiscountStatus,
      IF(c.commitment_id IS NULL, NULL, 'Committed Use Discount') AS CommitmentDiscountType,
      PARSE_NUMERIC(FORMAT('%.9f',
        IF(c.charge_category = 'Usage' AND c.usage.unit IS NOT NULL, c.usage.amount, NULL)))
        AS ConsumedQuantity,
      IF(c.charge_category = 'Usage' AND c.usage.unit IS NOT NULL, c.usage.unit, NULL)
        AS ConsumedUnit,
      PARSE_NUMERIC(FORMAT('%.9f', c.cost)) AS ContractedCost,
      PARSE_NUMERIC(FORMAT('%.9f', c.contracted_unit_price)) AS ContractedUnitPrice,
      PARSE_NUMERIC(FORMAT('%.9f', c.net_cost)) AS EffectiveCost,
      'Google Cloud' AS HostProviderName,
      IF(c.transaction_type = 'THIRD_PARTY_AGENCY', c.seller_name, 'Google') AS InvoiceIssuerName,
      PARSE_NUMERIC(FORMAT('%.9f', IFNULL(c.cost_at_list, c.cost))) AS ListCost,
      PARSE_NUMERIC(FORMAT('%.9f', SAFE_DIVIDE(c.cost_at_list, c.pricing_quantity)))
        AS ListUnitPrice,
      IF(c.charge_category NOT IN ('Usage', 'Purchase'), NULL,
        IF(c.commitment_id IS NOT NULL, 'Committed',
          IF(REGEXP_CONTAINS(c.sku.description, r'(?i)spot|preemptible'), 'Dynamic', 'Standard')))
        AS PricingCategory,
      IF(c.currency_conversion_rate IS NULL, NULL, 'USD') AS PricingCurrency,
      PARSE_NUMERIC(FORMAT('%.9f', SAFE_DIVIDE(c.contracted_unit_price, c.currency_conversion_rate)))
        AS PricingCurrencyContractedUnitPrice,
      PARSE_NUMERIC(FORMAT('%.9f', SAFE_DIVIDE(c.net_cost, c.currency_conversion_rate)))
        AS PricingCurrencyEffectiveCost,
      PARSE_NUMERIC(FORMAT('%.9f',
        SAFE_DIVIDE(SAFE_DIVIDE(c.cost_at_list, c.pricing_quantity), c.currency_conversion_rate)))
        AS PricingCurrencyListUnitPrice,
      PARSE_NUMERIC(FORMAT('%.9f', c.pricing_quantity)) AS PricingQuantity,
      IF(c.pricing_quantity IS NULL, NULL, c.usage.pricing_unit) AS PricingUnit,
      c.service_provider AS ProviderName,
      c.service_provider AS PublisherName,
      IFNULL(c.location.region, c.location.location) AS RegionId,
      IFNULL(c.location.region, c.location.location) AS RegionName,
      NULLIF(c.location.zone, '') AS AvailabilityZone,
      c.resource.global_name AS ResourceId,
      c.resource.name AS ResourceName,
      COALESCE(m.service_category, d.service_category, 'Other') AS ServiceCategory,
      c.service.description AS ServiceName,
      c.service_provider AS ServiceProviderName,
      IF(m.service_category IS NULL, IFNULL(d.service_subcategory, 'Other (Other)'),
        m.service_subcategory) AS ServiceSubcategory,
      c.sku.id AS SkuId,
      c.sku.description AS SkuMeter,
      IF(c.price.effective_price IS NULL, NULL, JSON_OBJECT(
        'x_EffectivePrice', c.price.effective_price,
        'x_TierStartAmount', c.price.tier_start_amount,
        'x_PriceUnit', c.price.unit,
        'x_PricingUnitQuantity', c.price.pricing_unit_quantity)) AS SkuPriceDetails,
      IF(c.price.tier_start_amount IS NULL, NULL,
        CONCAT(c.sku.id, ':tier:', CAST(c.price.tier_start_amount AS STRING))) AS SkuPriceId,
      c.project.id AS SubAccountId,
      c.project.name AS SubAccountName,
      IF(c.project.id IS NULL, NULL, 'Project') AS SubAccountType,
      IF(c.tag_pairs IS NULL, NULL, PARSE_JSON(CONCAT('{', c.tag_pairs, '}'))) AS Tags,
      p_org_slug AS x_org_slug,
      p_pipeline_id AS x_pipeline_id,
      p_credential_id AS x_credential_id,
      c.x_pipeline_run_date AS x_pipeline_run_date,
      p_run_id AS x_run_id,
      CURRENT_TIMESTAMP() AS x_ingested_at,
      'gcp' AS x_source_system
    FROM (
      SELECT
        k.*,
        IF(k.cost_type = 'tax', 'Tax',
          IF(k.cost_type = 'rounding_error', 'Adjustment',
            IF(k.cost_type = 'adjustment',
              IF(k.net_cost < 0 AND NOT ENDS_WITH(IFNULL(k.adjustment_info.type, ''), '_CORRECTION'),
                'Credit', 'Adjustment'),
              IF(STARTS_WITH(IFNULL(k.sku.description, ''), 'Commitment'), 'Purchase', 'Usage'))))
          AS charge_category,
        IF(k.cost_type = 'regular', COALESCE(k.subscription.instance_id, k.cud_id), NULL)
          AS commitment_id,
        IF(k.usage.pricing_unit IS NULL, NULL, k.usage.amount_in_pricing_units)
          AS pricing_quantity,
        IFNULL(k.price.effective_price,
          SAFE_DIVIDE(k.cost, NULLIF(k.usage.amount_in_pricing_units, 0))) AS contracted_unit_price,
        IF(STARTS_WITH(IFNULL(k.transaction_type, 'GOOGLE'), 'THIRD_PARTY')
          AND k.seller_name IS NOT NULL, k.seller_name, 'Google Cloud') AS service_provider,
        PARSE_DATE('%Y%m', IFNULL(k.invoice.month, FORMAT_TIMESTAMP('%Y%m', k.usage_start_time)))
          AS invoice_month
      FROM (
        SELECT
          r.*,
          r.cost + IFNULL((SELECT SUM(cr.amount) FROM UNNEST(r.credits) AS cr), 0) AS net_cost,
          (SELECT MIN(cr.id) FROM UNNEST(r.credits) AS cr
            WHERE STARTS_WITH(cr.type, 'COMMITTED_USAGE_DISCOUNT')) AS cud_id,
          (SELECT MIN(cr.full_name) FROM UNNEST(r.credits) AS cr
            WHERE STARTS_WITH(cr.type, 'COMMITTED_USAGE_DISCOUNT')) AS cud_name,
          (SELECT MIN(cr.type) FROM UNNEST(r.credits) AS cr
            WHERE STARTS_WITH(cr.type, 'COMMITTED_USAGE_DISCOUNT')) AS cud_type,
          (SELECT STRING_AGG(CONCAT(TO_JSON_STRING(t.k), ':', TO_JSON_STRING(t.v)), ',')
            FROM (
              SELECT k, ARRAY_AGG(v ORDER BY prio LIMIT 1)[OFFSET(0)] AS v
              FROM (
                SELECT l.key AS k, l.value AS v, 1 AS prio FROM UNNEST(r.labels) AS l
                UNION ALL
                SELECT l.key, l.value, 2 FROM UNNEST(r.system_labels) AS l
                UNION ALL
                SELECT l.key, l.value, 3 FROM UNNEST(r.project.labels) AS l
                UNION ALL
                SELECT IF(g.namespace IS NULL, g.key, CONCAT(g.namespace, '/', g.key)), g.value, 4
                FROM UNNEST(r.tags) AS g
              )
              GROUP BY k
            ) AS t) AS tag_pairs
        FROM `{project_id}.{dataset}.gcp_billing_export_raw` AS r
        WHERE r.x_org_slug = p_org_slug
          AND r.x_pipeline_id = p_pipeline_id
          AND r.x_credential_id = p_credential_id
          AND (r.x_pipeline_run_date BETWEEN p_start_date AND p_end_date OR r.x_run_id = p_run_id)
      ) AS k
    ) AS c
    LEFT JOIN `{project_id}.{dataset}.focus_service_mappings` AS m
      ON m.provider = 'gcp' AND m.service_key = c.service.description
    LEFT JOIN `{project_id}.{dataset}.focus_service_mappings` AS d
      ON d.provider = 'gcp' AND d.service_key = '*'
  ) AS source
  ON FALSE
  WHEN NOT MATCHED BY SOURCE
    AND target.x_org_slug = p_org_slug
    AND target.x_pipeline_id = p_pipeline_id
    AND target.x_credential_id = p_credential_id
    AND (target.x_pipeline_run_date BETWEEN p_start_date AND p_end_date
      OR target.x_pipeline_run_date IN (
        SELECT x_pipeline_run_date FROM `{project_id}.{dataset}.gcp_billing_export_raw`
        WHERE x_org_slug = p_org_slug AND x_pipeline_id = p_pipeline_id
          AND x_credential_id = p_credential_id AND x_run_id = p_run_id))
    THEN DELETE
  WHEN NOT MATCHED THEN INSERT (
    BilledCost, BillingAccountId, BillingAccountName, BillingAccountType, BillingCurrency,
    BillingPeriodEnd, BillingPeriodStart, ChargeCategory, ChargeClass, ChargeDescription,
    ChargeFrequency, ChargePeriodEnd, ChargePeriodStart, CommitmentDiscountCategory,
    CommitmentDiscountId, CommitmentDiscountName, CommitmentDiscountStatus,
    CommitmentDiscountType, ConsumedQuantity, ConsumedUnit, ContractedCost,
    ContractedUnitPrice, EffectiveCost, HostProviderName, InvoiceIssuerName, ListCost,
    ListUnitPrice, PricingCategory, PricingCurrency, PricingCurrencyContractedUnitPrice,
    PricingCurrencyEffectiveCost, PricingCurrencyListUnitPrice, PricingQuantity, PricingUnit,
    ProviderName, PublisherName, RegionId, RegionName, AvailabilityZone, ResourceId,
    ResourceName, ServiceCategory, ServiceName, ServiceProviderName, ServiceSubcategory,
    SkuId, SkuMeter, SkuPriceDetails, SkuPriceId, SubAccountId, SubAccountName,
    SubAccountType, Tags,
    x_org_slug, x_pipeline_id, x_credential_id, x_pipeline_run_date, x_run_id,
    x_ingested_at, x_source_system
  ) VALUES (
    BilledCost, BillingAccountId, BillingAccountName, BillingAccountType, BillingCurrency,
    BillingPeriodEnd, BillingPeriodStart, ChargeCategory, ChargeClass, ChargeDescription,
    ChargeFrequency, ChargePeriodEnd, ChargePeriodStart, CommitmentDiscountCategory,
    CommitmentDiscountId, CommitmentDiscountName, CommitmentDiscountStatus,
    CommitmentDiscountType, ConsumedQuantity, ConsumedUnit, ContractedCost,
    ContractedUnitPrice, EffectiveCost, HostProviderName, InvoiceIssuerName, ListCost,
    ListUnitPrice, PricingCategory, PricingCurrency, PricingCurrencyContractedUnitPrice,
    PricingCurrencyEffectiveCost, PricingCurrencyListUnitPrice, PricingQuantity, PricingUnit,
    ProviderName, PublisherName, RegionId, RegionName, AvailabilityZone, ResourceId,
    ResourceName, ServiceCategory, ServiceName, ServiceProviderName, ServiceSubcategory,
    SkuId, SkuMeter, SkuPriceDetails, SkuPriceId, SubAccountId, SubAccountName,
    SubAccountType, Tags,
    x_org_slug, x_pipeline_id, x_credential_id, x_pipeline_run_date, x_run_id,
    x_ingested_at, x_source_system
  );
END;
