-- The FOCUS 1.3 columns of a native cloud converter's rows, in the order of
-- ../common/focus_columns.sql, with the one rounding every such converter applies: its
-- decimal columns, computed as FLOAT64 from the provider's figures, become NUMERIC. The
-- SELECT list of the INSERT that replace_focus_slice_float.sql opens (-- fragment line there).
-- * Money leaves FLOAT64 as whole nano-units, SAFE_DIVIDE(CAST(ROUND(x * 1e9) AS INT64),
--   NUMERIC '1000000000'): exact to 9 decimals for amounts below ~9 million per row (the
--   float's own precision) and cheap. CAST(x AS NUMERIC) would do on BigQuery, but the
--   emulator gives it 3 decimals, as it does a fractional NUMERIC literal inside a
--   procedure.
-- * Quantities, which can be huge (storage in byte-seconds: 3 TiB for a month is ~1e19, past
--   INT64), are the integer part plus the nano-units of the fraction; the integer part is
--   an INT64 below 9e18 and PARSE_NUMERIC(FORMAT('%.0f', ...)) above, exact for any value a
--   NUMERIC holds. (The emulator's DOUBLE -> BIGNUMERIC cast garbles digits past ~1e16 and
--   loses NUMERIC(29, 0)'s parameters inside a procedure; PARSE_NUMERIC(FORMAT('%.9f', x))
--   on every row is exact too but ~10x slower there.)
-- A null stays null.
AllocatedMethodDetails, AllocatedMethodId, AllocatedResourceId, AllocatedResourceName,
AllocatedTags, AvailabilityZone,
SAFE_DIVIDE(CAST(ROUND(BilledCost * 1e9) AS INT64), NUMERIC '1000000000') AS BilledCost,
BillingAccountId, BillingAccountName, BillingAccountType, BillingCurrency, BillingPeriodEnd,
BillingPeriodStart, CapacityReservationId, CapacityReservationStatus, ChargeCategory,
ChargeClass, ChargeDescription, ChargeFrequency, ChargePeriodEnd, ChargePeriodStart,
CommitmentDiscountCategory, CommitmentDiscountId, CommitmentDiscountName,
IF(ABS(CommitmentDiscountQuantity) < 9e18, CAST(TRUNC(CommitmentDiscountQuantity) AS INT64),
  PARSE_NUMERIC(FORMAT('%.0f', TRUNC(CommitmentDiscountQuantity)))) + SAFE_DIVIDE(CAST(ROUND(
  (CommitmentDiscountQuantity - TRUNC(CommitmentDiscountQuantity)) * 1e9) AS INT64),
  NUMERIC '1000000000') AS CommitmentDiscountQuantity,
CommitmentDiscountStatus, CommitmentDiscountType, CommitmentDiscountUnit,
IF(ABS(ConsumedQuantity) < 9e18, CAST(TRUNC(ConsumedQuantity) AS INT64),
  PARSE_NUMERIC(FORMAT('%.0f', TRUNC(ConsumedQuantity)))) + SAFE_DIVIDE(CAST(ROUND(
  (ConsumedQuantity - TRUNC(ConsumedQuantity)) * 1e9) AS INT64), NUMERIC '1000000000')
  AS ConsumedQuantity,
ConsumedUnit, ContractApplied,
SAFE_DIVIDE(CAST(ROUND(ContractedCost * 1e9) AS INT64), NUMERIC '1000000000') AS ContractedCost,
SAFE_DIVIDE(CAST(ROUND(ContractedUnitPrice * 1e9) AS INT64), NUMERIC '1000000000')
  AS ContractedUnitPrice,
SAFE_DIVIDE(CAST(ROUND(EffectiveCost * 1e9) AS INT64), NUMERIC '1000000000') AS EffectiveCost,
HostProviderName, InvoiceId, InvoiceIssuerName,
SAFE_DIVIDE(CAST(ROUND(ListCost * 1e9) AS INT64), NUMERIC '1000000000') AS ListCost,
SAFE_DIVIDE(CAST(ROUND(ListUnitPrice * 1e9) AS INT64), NUMERIC '1000000000') AS ListUnitPrice,
PricingCategory, PricingCurrency,
SAFE_DIVIDE(CAST(ROUND(PricingCurrencyContractedUnitPrice * 1e9) AS INT64), NUMERIC '1000000000')
  AS PricingCurrencyContractedUnitPrice,
SAFE_DIVIDE(CAST(ROUND(PricingCurrencyEffectiveCost * 1e9) AS INT64), NUMERIC '1000000000')
  AS PricingCurrencyEffectiveCost,
SAFE_DIVIDE(CAST(ROUND(PricingCurrencyListUnitPrice * 1e9) AS INT64), NUMERIC '1000000000')
  AS PricingCurrencyListUnitPrice,
IF(ABS(PricingQuantity) < 9e18, CAST(TRUNC(PricingQuantity) AS INT64),
  PARSE_NUMERIC(FORMAT('%.0f', TRUNC(PricingQuantity)))) + SAFE_DIVIDE(CAST(ROUND(
  (PricingQuantity - TRUNC(PricingQuantity)) * 1e9) AS INT64), NUMERIC '1000000000')
  AS PricingQuantity,
PricingUnit, ProviderName, PublisherName, RegionId, RegionName, ResourceId, ResourceName,
ResourceType, ServiceCategory, ServiceName, ServiceProviderName, ServiceSubcategory, SkuId,
SkuMeter, SkuPriceDetails, SkuPriceId, SubAccountId, SubAccountName, SubAccountType, Tags
