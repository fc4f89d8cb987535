-- sp_cloud_1_convert_to_focus_oci: the org's raw OCI cost-report rows -> FOCUS 1.3 rows.
--
-- Converts the usage days of the window into cost_data_standard_1_3_staging; the step then
-- reconciles them and replaces the window in cost_data_standard_1_3 (a rerun leaves the
-- same rows). One FOCUS
-- row per cost-report line. Mapping decisions (where FOCUS leaves a choice):
-- * BilledCost = EffectiveCost = ContractedCost = cost/myCost (the tenancy's price, what is
--   invoiced; OCI reports no prepaid amortization). cost/unitPrice is the contracted unit
--   price; the report carries no list price, so ListCost = myCost and ListUnitPrice =
--   unitPrice (stated here rather than invented).
-- * Every line is ChargeCategory 'Usage', 'Usage-Based', PricingCategory 'Standard';
--   lineItem/isCorrection true -> ChargeClass 'Correction'.
-- * BillingAccount = the tenancy; SubAccount = the compartment (Type 'Compartment').
--   BillingPeriod = the UTC calendar month of the usage (end exclusive).
-- * ServiceName = product/service (ServiceCategory from configs/system/mappings/
--   oci_services.yml); Service/Host/Invoice issuer = 'Oracle'.
-- * Quantities: usage/billedQuantity in cost/skuUnitDescription (Pricing) and as consumed.
-- * PricingCurrency = cost/currencyCode: the report's unit prices are in the billed currency.
-- * ResourceType = the resource-type segment of the OCID in product/resourceId
--   ('ocid1.<type>.<realm>...', e.g. 'instance', 'volume', 'bucket': OCI's documented
--   OCID syntax); null for a resource id that is not an OCID. Capacity reservations,
--   commitment quantities (cost reports carry no commitment columns) and allocation stay
--   null.
-- * Tags = the tags/<namespace>.<key> columns as {"<namespace>.<key>": value}.
-- Signature and argument check: ../../common/procedure_start.sql; reset of the run's staged rows:
-- ../staging_reset.sql.
{procedure_start}

{staging_reset}

  INSERT INTO `{project_id}.{dataset}.cost_data_standard_1_3_staging` (
    BilledCost, BillingAccountId, BillingAccountType, BillingCurrency, BillingPeriodEnd,
    BillingPeriodStart, ChargeCategory, ChargeClass, ChargeDescription, ChargeFrequency,
    ChargePeriodEnd, ChargePeriodStart, ConsumedQuantity, ConsumedUnit, ContractedCost,
    ContractedUnitPrice, EffectiveCost, HostProviderName, InvoiceIssuerName, ListCost,
    ListUnitPrice, PricingCategory, PricingCurrency, PricingQuantity, PricingUnit, ProviderName,
    PublisherName,
    RegionId, RegionName, AvailabilityZone, ResourceId, ResourceType, ServiceCategory,
    ServiceName, ServiceProviderName, ServiceSubcategory, SkuId, SkuMeter, SkuPriceId, SubAccountId,
    SubAccountName, SubAccountType, Tags,
    x_org_slug, x_pipeline_id, x_credential_id, x_pipeline_run_date, x_run_id,
    x_ingested_at, x_source_system
  )
  SELECT
    SAFE_DIVIDE(CAST(ROUND(c.cost * 1e9) AS INT64), NUMERIC '1000000000'),
    c.lineItem_tenantId,
    'Tenancy',
    c.cost_currencyCode,
    TIMESTAMP(DATE_ADD(DATE_TRUNC(DATE(c.lineItem_intervalUsageStart), MONTH), INTERVAL 1 MONTH)),
    TIMESTAMP(DATE_TRUNC(DATE(c.lineItem_intervalUsageStart), MONTH)),
    'Usage',
    IF(LOWER(IFNULL(c.lineItem_isCorrection, 'false')) = 'true', 'Correction', NULL),
    c.product_Description,
    'Usage-Based',
    c.lineItem_intervalUsageEnd,
    c.lineItem_intervalUsageStart,
    IF(c.cost_skuUnitDescription IS NULL, NULL, c.quantity),
    IF(c.quantity IS NULL, NULL, c.cost_skuUnitDescription),
    SAFE_DIVIDE(CAST(ROUND(c.cost * 1e9) AS INT64), NUMERIC '1000000000'),
    SAFE_DIVIDE(CAST(ROUND(c.cost_unitPrice * 1e9) AS INT64), NUMERIC '1000000000'),
    SAFE_DIVIDE(CAST(ROUND(c.cost * 1e9) AS INT64), NUMERIC '1000000000'),
    'Oracle',
    'Oracle',
    SAFE_DIVIDE(CAST(ROUND(c.cost * 1e9) AS INT64), NUMERIC '1000000000'),
    SAFE_DIVIDE(CAST(ROUND(c.cost_unitPrice * 1e9) AS INT64), NUMERIC '1000000000'),
    'Standard',
    c.cost_currencyCode,
    IF(c.cost_skuUnitDescription IS NULL, NULL, c.quantity),
    IF(c.quantity IS NULL, NULL, c.cost_skuUnitDescription),
    'Oracle',
    'Oracle',
    c.product_region,
    c.product_region,
    c.product_availabilityDomain,
    c.product_resourceId,
    REGEXP_EXTRACT(c.product_resourceId, r'^ocid1\.([a-z0-9_]+)\.'),
    COALESCE(m.service_category, d.service_category, 'Other'),
    c.product_service,
    'Oracle',
    IF(m.service_category IS NULL, IFNULL(d.service_subcategory, 'Other (Other)'),
      m.service_subcategory),
    c.cost_productSku,
    c.product_Description,
    c.cost_productSku,
    c.product_compartmentId,
    c.product_compartmentName,
    IF(c.product_compartmentId IS NULL, NULL, 'Compartment'),
    c.tags,
    p_org_slug,
    p_pipeline_id,
    p_credential_id,
    c.x_pipeline_run_date,
    p_run_id,
    CURRENT_TIMESTAMP(),
    'oci'
  FROM (
    SELECT
      r.*,
      IFNULL(r.cost_myCost, 0) AS cost,
      IF(ABS(r.usage_billedQuantity) < 9e18, CAST(TRUNC(r.usage_billedQuantity) AS INT64),
        PARSE_NUMERIC(FORMAT('%.0f', TRUNC(r.usage_billedQuantity)))) + SAFE_DIVIDE(CAST(ROUND(
        (r.usage_billedQuantity - TRUNC(r.usage_billedQuantity)) * 1e9) AS INT64),
        NUMERIC '1000000000') AS quantity
    FROM `{project_id}.{dataset}.oci_cost_report_raw` AS r
    WHERE r.x_org_slug = p_org_slug
      AND r.x_pipeline_id = p_pipeline_id
      AND r.x_credential_id = p_credential_id
      AND r.x_pipeline_run_date BETWEEN p_start_date AND p_end_date
  ) AS c
  LEFT JOIN `{project_id}.{dataset}.focus_service_mappings` AS m
    ON m.provider = 'oci' AND m.service_key = c.product_service
  LEFT JOIN `{project_id}.{dataset}.focus_service_mappings` AS d
    ON d.provider = 'oci' AND d.service_key = '*';
END;
