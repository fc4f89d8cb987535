-- sp_cloud_1_convert_to_focus_oci: the org's raw OCI cost-report rows -> FOCUS 1.3 rows.
--
-- Replaces the window's usage days of the run's slice of cost_data_standard_1_3 with the
-- converted rows (a rerun leaves the same rows); the step CALLs it and the reconciliation
-- in one transaction that fails, leaving the table as it was, when a day does not
-- reconcile. One FOCUS row per cost-report line. Mapping decisions (where FOCUS leaves a choice):
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
-- * Money and quantities leave FLOAT64 through ../focus_from_float.sql (whole nano-units).
-- * Left null beside those: BillingAccountName, InvoiceId, ResourceName, SkuPriceDetails and
--   the PricingCurrency* figures (PricingCurrency is the billing currency: the figures are
--   the billing-currency ones, which ../../common/focus_conform.sql copies on publish).
-- Included (-- fragment lines): the signature and argument check, the days late rows
-- reopen, the slice delete and the head of the INSERT with the FOCUS columns' FLOAT64 ->
-- NUMERIC rounding (replace_focus_slice_float), the columns no native conversion fills, the lineage of the
-- rows, the service category and mapping, and the slice.
-- fragment procedure_start: common/procedure_start.sql
-- fragment late_days: cloud/no_late_days.sql
-- fragment replace_focus_slice_float: cloud/replace_focus_slice_float.sql
-- fragment focus_left_null: common/focus_left_null.sql
-- fragment no_commitment: common/no_commitment.sql
-- fragment run_lineage: common/run_lineage.sql
-- fragment service_category: cloud/service_category.sql
-- fragment service_mapping: cloud/service_mapping.sql
-- fragment slice_filter: common/slice_filter.sql
{procedure_start}
  {late_days}

  {replace_focus_slice_float}
    SELECT
      {no_commitment},
      c.cost AS BilledCost,
      c.lineItem_tenantId AS BillingAccountId,
      CAST(NULL AS STRING) AS BillingAccountName,
      'Tenancy' AS BillingAccountType,
      c.cost_currencyCode AS BillingCurrency,
      TIMESTAMP(DATE_ADD(DATE_TRUNC(DATE(c.lineItem_intervalUsageStart), MONTH), INTERVAL 1 MONTH))
        AS BillingPeriodEnd,
      TIMESTAMP(DATE_TRUNC(DATE(c.lineItem_intervalUsageStart), MONTH)) AS BillingPeriodStart,
      'Usage' AS ChargeCategory,
      IF(LOWER(IFNULL(c.lineItem_isCorrection, 'false')) = 'true', 'Correction', NULL)
        AS ChargeClass,
      c.product_Description AS ChargeDescription,
      'Usage-Based' AS ChargeFrequency,
      c.lineItem_intervalUsageEnd AS ChargePeriodEnd,
      c.lineItem_intervalUsageStart AS ChargePeriodStart,
      IF(c.cost_skuUnitDescription IS NULL, NULL, c.usage_billedQuantity) AS ConsumedQuantity,
      IF(c.usage_billedQuantity IS NULL, NULL, c.cost_skuUnitDescription) AS ConsumedUnit,
      c.cost AS ContractedCost,
      c.cost_unitPrice AS ContractedUnitPrice,
      c.cost AS EffectiveCost,
      'Oracle' AS HostProviderName,
      CAST(NULL AS STRING) AS InvoiceId,
      'Oracle' AS InvoiceIssuerName,
      c.cost AS ListCost,
      c.cost_unitPrice AS ListUnitPrice,
      'Standard' AS PricingCategory,
      c.cost_currencyCode AS PricingCurrency,
      CAST(NULL AS FLOAT64) AS PricingCurrencyContractedUnitPrice,
      CAST(NULL AS FLOAT64) AS PricingCurrencyEffectiveCost,
      CAST(NULL AS FLOAT64) AS PricingCurrencyListUnitPrice,
      IF(c.cost_skuUnitDescription IS NULL, NULL, c.usage_billedQuantity) AS PricingQuantity,
      IF(c.usage_billedQuantity IS NULL, NULL, c.cost_skuUnitDescription) AS PricingUnit,
      'Oracle' AS ProviderName,
      'Oracle' AS PublisherName,
      c.product_region AS RegionId,
      c.product_region AS RegionName,
      c.product_availabilityDomain AS AvailabilityZone,
      c.product_resourceId AS ResourceId,
      CAST(NULL AS STRING) AS ResourceName,
      REGEXP_EXTRACT(c.product_resourceId, r'^ocid1\.([a-z0-9_]+)\.') AS ResourceType,
      {service_category},
      c.product_service AS ServiceName,
      'Oracle' AS ServiceProviderName,
      c.cost_productSku AS SkuId,
      c.product_Description AS SkuMeter,
      CAST(NULL AS JSON) AS SkuPriceDetails,
      c.cost_productSku AS SkuPriceId,
      c.product_compartmentId AS SubAccountId,
      c.product_compartmentName AS SubAccountName,
      IF(c.product_compartmentId IS NULL, NULL, 'Compartment') AS SubAccountType,
      c.tags AS Tags,
      {focus_left_null},
      {run_lineage},
      c.x_pipeline_run_date AS x_pipeline_run_date,
      'oci' AS x_source_system
    FROM (
      SELECT
        r.*,
        IFNULL(r.cost_myCost, 0) AS cost,
        'oci' AS mapping_provider,
        r.product_service AS service_key
      FROM `{project_id}.{dataset}.oci_cost_report_raw` AS r
      WHERE {slice_filter}
    ) AS c
    {service_mapping}
  ));
END;
