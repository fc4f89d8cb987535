-- sp_cloud_1_convert_to_focus_focus_export: the org's raw rows of a provider's own FOCUS
-- export (AWS Data Exports FOCUS 1.0/1.2, Azure's FocusCost export, OCI's FOCUS reports)
-- -> FOCUS 1.3 rows, one per export row.
--
-- Converts the usage days of the window into cost_data_standard_1_3_staging; the step then
-- reconciles them and replaces the window in cost_data_standard_1_3.
-- Mapping decisions:
-- * Every column the export has is kept as the provider wrote it: the file's numbers were
--   read as exact decimals (NUMERIC), its JSON columns as JSON. A column of a later FOCUS
--   version than the file's (1.1: CapacityReservation*, CommitmentDiscountQuantity/Unit,
--   ServiceSubcategory, SkuMeter, SkuPriceDetails; 1.2: BillingAccountType, InvoiceId,
--   PricingCurrency*, SubAccountType; 1.3: Allocated*, ContractApplied, HostProviderName,
--   ServiceProviderName) stays null: nothing in an older export says what it would be,
--   except the four below.
-- * ServiceSubcategory (1.1; non-null in 1.4) for a 1.0 export: FOCUS's own catch-all of
--   the row's category, 'Other (<ServiceCategory>)': the export names no finer one.
-- * BillingAccountType (1.2; non-null in 1.4) for an export without it: the account kind
--   the native conversion writes ('Payer Account' for AWS, 'Tenancy' for OCI, 'Billing
--   Account' otherwise: an Azure FocusCost BillingAccountId is the billing account or
--   profile, and an older export does not say which).
-- * 1.3 renamed ProviderName (who made the service available: the seller on marketplace
--   rows) to ServiceProviderName and added HostProviderName (whose platform it runs on).
--   An older export's ProviderName becomes ServiceProviderName; HostProviderName is the
--   cloud the export comes from ('AWS', 'Microsoft', 'Oracle', 'Google Cloud', as the
--   native conversions write it). ProviderName and PublisherName (deprecated in 1.3) are
--   kept, filled from ServiceProviderName for a 1.3 export without them.
-- * Provider-specific x_ columns (AWS x_ServiceCode, x_UsageType, ...; Azure x_*) are not
--   read; x_source_system is the pipeline's provider.
-- Signature and argument check: ../../common/procedure_start.sql; reset of the run's staged
-- rows: ../staging_reset.sql.
{procedure_start}

{staging_reset}

  INSERT INTO `{project_id}.{dataset}.cost_data_standard_1_3_staging` (
    AllocatedMethodDetails, AllocatedMethodId, AllocatedResourceId, AllocatedResourceName,
    AllocatedTags, AvailabilityZone, BilledCost, BillingAccountId, BillingAccountName,
    BillingAccountType, BillingCurrency, BillingPeriodEnd, BillingPeriodStart,
    CapacityReservationId, CapacityReservationStatus, ChargeCategory, ChargeClass,
    ChargeDescription, ChargeFrequency, ChargePeriodEnd, ChargePeriodStart,
    CommitmentDiscountCategory, CommitmentDiscountId, CommitmentDiscountName,
    CommitmentDiscountQuantity, CommitmentDiscountStatus, CommitmentDiscountType,
    CommitmentDiscountUnit, ConsumedQuantity, ConsumedUnit, ContractApplied, ContractedCost,
    ContractedUnitPrice, EffectiveCost, HostProviderName, InvoiceId, InvoiceIssuerName,
    ListCost, ListUnitPrice, PricingCategory, PricingCurrency,
    PricingCurrencyContractedUnitPrice, PricingCurrencyEffectiveCost,
    PricingCurrencyListUnitPrice, PricingQuantity, PricingUnit, ProviderName, PublisherName,
    RegionId, RegionName, ResourceId, ResourceName, ResourceType, ServiceCategory, ServiceName,
    ServiceProviderName, ServiceSubcategory, SkuId, SkuMeter, SkuPriceDetails, SkuPriceId,
    SubAccountId, SubAccountName, SubAccountType, Tags,
    x_org_slug, x_pipeline_id, x_credential_id, x_pipeline_run_date, x_run_id,
    x_ingested_at, x_source_system
  )
  SELECT
    r.AllocatedMethodDetails,
    r.AllocatedMethodId,
    r.AllocatedResourceId,
    r.AllocatedResourceName,
    r.AllocatedTags,
    r.AvailabilityZone,
    r.BilledCost,
    r.BillingAccountId,
    r.BillingAccountName,
    COALESCE(r.BillingAccountType, IF(r.x_source_system = 'aws', 'Payer Account',
      IF(r.x_source_system = 'oci', 'Tenancy', 'Billing Account'))),
    r.BillingCurrency,
    r.BillingPeriodEnd,
    r.BillingPeriodStart,
    r.CapacityReservationId,
    r.CapacityReservationStatus,
    r.ChargeCategory,
    r.ChargeClass,
    r.ChargeDescription,
    r.ChargeFrequency,
    r.ChargePeriodEnd,
    r.ChargePeriodStart,
    r.CommitmentDiscountCategory,
    r.CommitmentDiscountId,
    r.CommitmentDiscountName,
    r.CommitmentDiscountQuantity,
    r.CommitmentDiscountStatus,
    r.CommitmentDiscountType,
    r.CommitmentDiscountUnit,
    r.ConsumedQuantity,
    r.ConsumedUnit,
    r.ContractApplied,
    r.ContractedCost,
    r.ContractedUnitPrice,
    r.EffectiveCost,
    -- IF, not CASE: the emulator reads a CASE's END as the procedure's end
    COALESCE(r.HostProviderName, IF(r.x_source_system = 'aws', 'AWS',
      IF(r.x_source_system = 'azure', 'Microsoft', IF(r.x_source_system = 'oci', 'Oracle',
        IF(r.x_source_system = 'gcp', 'Google Cloud', NULL))))),
    r.InvoiceId,
    r.InvoiceIssuerName,
    r.ListCost,
    r.ListUnitPrice,
    r.PricingCategory,
    r.PricingCurrency,
    r.PricingCurrencyContractedUnitPrice,
    r.PricingCurrencyEffectiveCost,
    r.PricingCurrencyListUnitPrice,
    r.PricingQuantity,
    r.PricingUnit,
    COALESCE(r.ProviderName, r.ServiceProviderName),
    COALESCE(r.PublisherName, r.ServiceProviderName, r.ProviderName),
    r.RegionId,
    r.RegionName,
    r.ResourceId,
    r.ResourceName,
    r.ResourceType,
    r.ServiceCategory,
    r.ServiceName,
    COALESCE(r.ServiceProviderName, r.ProviderName),
    COALESCE(r.ServiceSubcategory, CONCAT('Other (', r.ServiceCategory, ')')),
    r.SkuId,
    r.SkuMeter,
    r.SkuPriceDetails,
    r.SkuPriceId,
    r.SubAccountId,
    r.SubAccountName,
    r.SubAccountType,
    r.Tags,
    p_org_slug,
    p_pipeline_id,
    p_credential_id,
    r.x_pipeline_run_date,
    p_run_id,
    CURRENT_TIMESTAMP(),
    r.x_source_system
  FROM `{project_id}.{dataset}.focus_export_raw` AS r
  WHERE r.x_org_slug = p_org_slug
    AND r.x_pipeline_id = p_pipeline_id
    AND r.x_credential_id = p_credential_id
    AND r.x_pipeline_run_date BETWEEN p_start_date AND p_end_date;
END;
