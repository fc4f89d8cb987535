-- The FOCUS 1.3 Cost and Usage columns, in the specification's (alphabetical) order: the
-- column list of every converter's write to cost_data_standard_1_3
-- (-- fragment line), beside lineage_columns.sql. The same names as FOCUS_1_3_COLUMNS of
-- shared/domain/focus.py (tests/unit/test_procedure_fragments.py compares them).
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
SubAccountId, SubAccountName, SubAccountType, Tags
