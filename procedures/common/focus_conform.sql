-- The FOCUS rules every converter's rows are brought to on their way into
-- cost_data_standard_1_3, written once: included (-- fragment line) as
-- "SELECT <this> FROM (<the converter's FOCUS-shaped rows>)" by the cloud slice replace
-- (cloud/replace_focus_slice.sql), the GenAI and the subscription converters. Each rule is
-- one the FinOps toolkit's FOCUS lint (focus-data-toolkit) and shared/domain/focus_rules.py
-- check; the spec choice each makes:
-- * ListCost / ContractedCost = ListUnitPrice / ContractedUnitPrice x PricingQuantity, to the
--   nano, whenever both are known (CAU-ListCost-C-011, CAU-ContractedCost-C-011). A source's
--   own figure is often a rounding (GCP costs to 6 decimals; a daily share of an annual seat
--   price, whose unit price has no finite decimal form): the product is what these columns
--   mean, so it wins. BilledCost and EffectiveCost keep the source's money, which the
--   reconciliation checks. A product past NUMERIC (SAFE_MULTIPLY is NULL) keeps the source's.
-- * Tax rows carry no SkuId, SkuPriceId or PricingCategory (CAU-SkuId-C-004 and kin).
-- * A SkuPriceId names a unit price: a row that lacks either unit price (a fee, a
--   commitment-covered line without a rate, a charge with no quantity) has no SkuPriceId,
--   and a row without a SkuPriceId has no SkuPriceDetails (CAU-SkuPriceDetails-C-006).
-- * A row priced in its billing currency (PricingCurrency = BillingCurrency) carries the
--   PricingCurrency unit prices and effective cost too: the same figures (FOCUS 1.4 makes
--   PricingCurrency and PricingCurrencyEffectiveCost non-null; filled here, a 1.4 reader
--   need not derive them). Where the currencies differ the converter's own figures stand.
* REPLACE (
    COALESCE(ROUND(SAFE_MULTIPLY(ListUnitPrice, PricingQuantity), 9), ListCost) AS ListCost,
    COALESCE(ROUND(SAFE_MULTIPLY(ContractedUnitPrice, PricingQuantity), 9), ContractedCost)
      AS ContractedCost,
    IF(ChargeCategory = 'Tax', NULL, SkuId) AS SkuId,
    IF(ChargeCategory = 'Tax', NULL, PricingCategory) AS PricingCategory,
    IF(ChargeCategory = 'Tax' OR ListUnitPrice IS NULL OR ContractedUnitPrice IS NULL,
      NULL, SkuPriceId) AS SkuPriceId,
    IF(ChargeCategory = 'Tax' OR SkuPriceId IS NULL OR ListUnitPrice IS NULL
        OR ContractedUnitPrice IS NULL,
      NULL, SkuPriceDetails) AS SkuPriceDetails,
    COALESCE(PricingCurrencyListUnitPrice,
      IF(PricingCurrency = BillingCurrency, ListUnitPrice, NULL)) AS PricingCurrencyListUnitPrice,
    COALESCE(PricingCurrencyContractedUnitPrice,
      IF(PricingCurrency = BillingCurrency, ContractedUnitPrice, NULL))
      AS PricingCurrencyContractedUnitPrice,
    COALESCE(PricingCurrencyEffectiveCost,
      IF(PricingCurrency = BillingCurrency, EffectiveCost, NULL)) AS PricingCurrencyEffectiveCost
  )
