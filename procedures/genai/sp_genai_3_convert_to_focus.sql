-- sp_genai_3_convert_to_focus: consolidated GenAI usage/cost -> FOCUS 1.3 rows.
--
-- Reads the run's lineage slice of `genai_usage_daily` (sp_genai_1) and replaces the same
-- slice of `cost_data_standard_1_3`: a DELETE of the slice, then an INSERT of its rows, in
-- the one transaction the generic.procedure_executor step CALLs it in, so a failure leaves
-- the slice as it was; reruns leave the same rows. One FOCUS row per day, provider,
-- sub-account, model and token type.
--
-- Mapping decisions:
-- * ChargeCategory 'Usage', ChargeFrequency 'Usage-Based', PricingCategory 'Standard'
--   (pay-as-you-go list prices, no commitments).
-- * BilledCost = EffectiveCost = the provider's cost for the row; ListCost / ContractedCost
--   = unit price x PricingQuantity (../common/focus_conform.sql), the same to the nano
--   (OpenAI costs amount.value; Anthropic cost_report amount / 100; or the price table's
--   cost for providers that report none). No discounts are visible in these APIs.
-- * ConsumedQuantity = the meter's quantity (tokens, images, ...), ConsumedUnit its unit
--   ('Tokens'); PricingQuantity = tokens / 1e6 with PricingUnit '1M Tokens' (other meters:
--   the same quantity and unit); unit prices = cost / PricingQuantity. Rows with a cost
--   but no usage (tool fees) leave the quantities, units and unit prices null, and so have
--   no SkuPriceId / SkuPriceDetails (model and token type stay in the x_genai_ columns).
-- * The provider in every provider role (a direct API purchase): ServiceProviderName,
--   HostProviderName, InvoiceIssuerName and the deprecated ProviderName / PublisherName.
-- * SubAccount = the OpenAI project / Anthropic workspace (null = default workspace).
-- * PricingCurrency = the billing currency: the providers price and bill in USD.
-- * Model and token type go to x_genai_model / x_genai_token_type (FOCUS <= 1.4 has no
--   token columns) and to SkuId / SkuMeter / SkuPriceDetails.
-- * BillingAccountType 'Organization': OpenAI and Anthropic bill an organization (the
--   Admin APIs' scope), the one kind of billing account they have (non-null in FOCUS 1.4).
-- * Left null: AvailabilityZone, Region*, Resource*, Tags, ChargeClass, InvoiceId, the
--   CommitmentDiscount* columns and those no native conversion fills.
-- Included (-- fragment lines): the FOCUS rules every converter's rows pass
-- (focus_conform), the FOCUS and lineage column lists, the columns left null, the run's
-- slice (the read and the DELETE) and the lineage of the rows.
-- fragment focus_conform: common/focus_conform.sql
-- fragment focus_columns: common/focus_columns.sql
-- fragment lineage_columns: common/lineage_columns.sql
-- fragment focus_left_null: common/focus_left_null.sql
-- fragment no_commitment: common/no_commitment.sql
-- fragment slice_filter: common/slice_filter.sql
-- fragment run_lineage: common/run_lineage.sql
CREATE OR REPLACE PROCEDURE `{project_id}.{dataset}`.sp_genai_3_convert_to_focus(
  p_org_slug STRING,
  p_start_date DATE,
  p_end_date DATE,
  p_pipeline_id STRING,
  p_credential_id STRING,
  p_run_id STRING,
  p_provider_name STRING,
  p_service_name STRING,
  p_sub_account_type STRING
)
BEGIN
  SELECT IF(
    p_org_slug IS NOT NULL AND p_pipeline_id IS NOT NULL AND p_credential_id IS NOT NULL
      AND p_run_id IS NOT NULL AND p_provider_name IS NOT NULL AND p_service_name IS NOT NULL
      AND p_start_date <= p_end_date,
    0,
    ERROR('sp_genai_3_convert_to_focus: every argument is required and p_start_date must not be after p_end_date')
  ) AS arguments_ok;

  DELETE FROM `{project_id}.{dataset}.cost_data_standard_1_3` WHERE {slice_filter};

  INSERT INTO `{project_id}.{dataset}.cost_data_standard_1_3` (
    {focus_columns},
    x_genai_provider, x_genai_model, x_genai_token_type, x_genai_cost_source,
    {lineage_columns}
  )
  SELECT
    {focus_columns},
    x_genai_provider, x_genai_model, x_genai_token_type, x_genai_cost_source,
    {lineage_columns}
  FROM (
    SELECT {focus_conform} FROM (
    SELECT
      {focus_left_null},
      {no_commitment},
      CAST(NULL AS STRING) AS AvailabilityZone, CAST(NULL AS STRING) AS ChargeClass,
      CAST(NULL AS STRING) AS InvoiceId, CAST(NULL AS STRING) AS RegionId,
      CAST(NULL AS STRING) AS RegionName, CAST(NULL AS STRING) AS ResourceId,
      CAST(NULL AS STRING) AS ResourceName, CAST(NULL AS STRING) AS ResourceType,
      CAST(NULL AS JSON) AS Tags,
      d.cost AS BilledCost,
      p_org_slug AS BillingAccountId,
      p_org_slug AS BillingAccountName,
      'Organization' AS BillingAccountType,
      d.currency AS BillingCurrency,
      TIMESTAMP(DATE_ADD(DATE_TRUNC(d.usage_date, MONTH), INTERVAL 1 MONTH)) AS BillingPeriodEnd,
      TIMESTAMP(DATE_TRUNC(d.usage_date, MONTH)) AS BillingPeriodStart,
      'Usage' AS ChargeCategory,
      CONCAT(
        p_service_name, ' ', IFNULL(d.model, 'no model'), ' - ', d.token_type,
        IF(d.quantity IS NULL, '', CONCAT(' (', CAST(d.quantity AS STRING), ' ', d.unit, ')'))
      ) AS ChargeDescription,
      'Usage-Based' AS ChargeFrequency,
      TIMESTAMP(DATE_ADD(d.usage_date, INTERVAL 1 DAY)) AS ChargePeriodEnd,
      TIMESTAMP(d.usage_date) AS ChargePeriodStart,
      d.quantity AS ConsumedQuantity,
      IF(d.quantity IS NULL, NULL, d.unit) AS ConsumedUnit,
      d.cost AS ContractedCost,
      IF(d.pricing_quantity > 0, d.cost / d.pricing_quantity, NULL) AS ContractedUnitPrice,
      d.cost AS EffectiveCost,
      p_provider_name AS HostProviderName,
      p_provider_name AS InvoiceIssuerName,
      d.cost AS ListCost,
      IF(d.pricing_quantity > 0, d.cost / d.pricing_quantity, NULL) AS ListUnitPrice,
      'Standard' AS PricingCategory,
      -- priced in the billing currency: ../common/focus_conform.sql fills the rest
      d.currency AS PricingCurrency,
      NULL AS PricingCurrencyContractedUnitPrice,
      NULL AS PricingCurrencyEffectiveCost,
      NULL AS PricingCurrencyListUnitPrice,
      d.pricing_quantity AS PricingQuantity,
      IF(d.pricing_quantity IS NULL, NULL, d.pricing_unit) AS PricingUnit,
      p_provider_name AS ProviderName,
      p_provider_name AS PublisherName,
      'AI and Machine Learning' AS ServiceCategory,
      p_service_name AS ServiceName,
      p_provider_name AS ServiceProviderName,
      'Generative AI' AS ServiceSubcategory,
      CONCAT(d.provider, ':', IFNULL(d.model, '-'), ':', d.token_type) AS SkuId,
      d.token_type AS SkuMeter,
      JSON_OBJECT('x_Model', d.model, 'x_TokenType', d.token_type) AS SkuPriceDetails,
      CONCAT(d.provider, ':', IFNULL(d.model, '-'), ':', d.token_type, ':', d.currency)
        AS SkuPriceId,
      d.sub_account_id AS SubAccountId,
      d.sub_account_id AS SubAccountName,
      IF(d.sub_account_id IS NULL, NULL, p_sub_account_type) AS SubAccountType,
      d.provider AS x_genai_provider,
      d.model AS x_genai_model,
      d.token_type AS x_genai_token_type,
      d.cost_source AS x_genai_cost_source,
      {run_lineage},
      d.usage_date AS x_pipeline_run_date,
      d.provider AS x_source_system
    FROM `{project_id}.{dataset}.genai_usage_daily` AS d
    WHERE {slice_filter}
  ));
END;
