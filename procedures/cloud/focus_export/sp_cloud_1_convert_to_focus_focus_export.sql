-- sp_cloud_1_convert_to_focus_focus_export: the org's raw rows of a provider's own FOCUS
-- export (AWS Data Exports FOCUS 1.0/1.2, Azure's FocusCost export, OCI's FOCUS reports)
-- -> FOCUS 1.3 rows, one per export row.
--
-- Replaces the window's usage days of the run's slice of cost_data_standard_1_3 with the
-- converted rows; the step CALLs it and the reconciliation in one transaction that fails,
-- leaving the table as it was, when a day does not reconcile.
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
-- Included (-- fragment lines): the signature and argument check, the days late rows
-- reopen (none), the slice delete and the head of the INSERT (replace_focus_slice), the FOCUS and lineage column
-- lists, the lineage of the rows and the slice.
-- fragment procedure_start: common/procedure_start.sql
-- fragment late_days: cloud/no_late_days.sql
-- fragment replace_focus_slice: cloud/replace_focus_slice.sql
-- fragment focus_columns: common/focus_columns.sql
-- fragment lineage_columns: common/lineage_columns.sql
-- fragment run_lineage: common/run_lineage.sql
-- fragment slice_filter: common/slice_filter.sql
{procedure_start}
  {late_days}

  {replace_focus_slice}
  SELECT {focus_columns}, {lineage_columns}
  FROM (
    -- the raw table has the FOCUS 1.3 and lineage columns: each is kept but these
    SELECT r.* REPLACE (
      COALESCE(r.BillingAccountType, IF(r.x_source_system = 'aws', 'Payer Account',
        IF(r.x_source_system = 'oci', 'Tenancy', 'Billing Account'))) AS BillingAccountType,
      -- IF, not CASE: the emulator reads a CASE's END as the procedure's end
      COALESCE(r.HostProviderName, IF(r.x_source_system = 'aws', 'AWS',
        IF(r.x_source_system = 'azure', 'Microsoft', IF(r.x_source_system = 'oci', 'Oracle',
          IF(r.x_source_system = 'gcp', 'Google Cloud', NULL))))) AS HostProviderName,
      COALESCE(r.ProviderName, r.ServiceProviderName) AS ProviderName,
      COALESCE(r.PublisherName, r.ServiceProviderName, r.ProviderName) AS PublisherName,
      COALESCE(r.ServiceProviderName, r.ProviderName) AS ServiceProviderName,
      COALESCE(r.ServiceSubcategory, CONCAT('Other (', r.ServiceCategory, ')'))
        AS ServiceSubcategory,
      {run_lineage}
    )
    FROM `{project_id}.{dataset}.focus_export_raw` AS r
    WHERE {slice_filter}
  ));
END;
