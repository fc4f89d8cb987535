"""The FOCUS 1.3 Cost and Usage columns and our lineage columns, as BigQuery columns.

Pure data, no I/O. Column names, order and types follow the FOCUS 1.3 specification
(``specification/datasets/cost_and_usage/columns/``): the 57 FOCUS 1.2 columns plus the 8
added in 1.3, in alphabetical order as the spec presents them. Types: Decimal -> NUMERIC,
Date/Time -> TIMESTAMP (UTC), JSON -> JSON, String -> STRING. Everything is NULLABLE: mandatory
non-null rules are checked on the data, not enforced by the table, so one bad provider
row cannot fail a whole load.
"""

from __future__ import annotations

from shared.domain.columns import Column

_S, _N, _T, _J = "STRING", "NUMERIC", "TIMESTAMP", "JSON"

FOCUS_VERSION = "1.3"

# NUMERIC (scale 9) rather than BIGNUMERIC: exact money with no emulator gaps; tiny per-token
# prices are expressed per block of units (e.g. PricingUnit "1000000 Tokens") instead.
FOCUS_1_3_COLUMNS: tuple[Column, ...] = (
    Column("AllocatedMethodDetails", _J),  # 1.3
    Column("AllocatedMethodId", _S),  # 1.3
    Column("AllocatedResourceId", _S),  # 1.3
    Column("AllocatedResourceName", _S),  # 1.3
    Column("AllocatedTags", _J),  # 1.3
    Column("AvailabilityZone", _S),
    Column("BilledCost", _N),
    Column("BillingAccountId", _S),
    Column("BillingAccountName", _S),
    Column("BillingAccountType", _S),
    Column("BillingCurrency", _S),
    Column("BillingPeriodEnd", _T),
    Column("BillingPeriodStart", _T),
    Column("CapacityReservationId", _S),
    Column("CapacityReservationStatus", _S),
    Column("ChargeCategory", _S),
    Column("ChargeClass", _S),
    Column("ChargeDescription", _S),
    Column("ChargeFrequency", _S),
    Column("ChargePeriodEnd", _T),
    Column("ChargePeriodStart", _T),
    Column("CommitmentDiscountCategory", _S),
    Column("CommitmentDiscountId", _S),
    Column("CommitmentDiscountName", _S),
    Column("CommitmentDiscountQuantity", _N),
    Column("CommitmentDiscountStatus", _S),
    Column("CommitmentDiscountType", _S),
    Column("CommitmentDiscountUnit", _S),
    Column("ConsumedQuantity", _N),
    Column("ConsumedUnit", _S),
    Column("ContractApplied", _J),  # 1.3
    Column("ContractedCost", _N),
    Column("ContractedUnitPrice", _N),
    Column("EffectiveCost", _N),
    Column("HostProviderName", _S),  # 1.3
    Column("InvoiceId", _S),
    Column("InvoiceIssuerName", _S),
    Column("ListCost", _N),
    Column("ListUnitPrice", _N),
    Column("PricingCategory", _S),
    Column("PricingCurrency", _S),
    Column("PricingCurrencyContractedUnitPrice", _N),
    Column("PricingCurrencyEffectiveCost", _N),
    Column("PricingCurrencyListUnitPrice", _N),
    Column("PricingQuantity", _N),
    Column("PricingUnit", _S),
    Column("ProviderName", _S),  # deprecated in 1.3, removed in 1.4; still emitted
    Column("PublisherName", _S),  # deprecated in 1.3, removed in 1.4; still emitted
    Column("RegionId", _S),
    Column("RegionName", _S),
    Column("ResourceId", _S),
    Column("ResourceName", _S),
    Column("ResourceType", _S),
    Column("ServiceCategory", _S),
    Column("ServiceName", _S),
    Column("ServiceProviderName", _S),  # 1.3
    Column("ServiceSubcategory", _S),
    Column("SkuId", _S),
    Column("SkuMeter", _S),
    Column("SkuPriceDetails", _J),
    Column("SkuPriceId", _S),
    Column("SubAccountId", _S),
    Column("SubAccountName", _S),
    Column("SubAccountType", _S),
    Column("Tags", _J),
)

# The columns each FOCUS version added (1.0 is the base): what tells an export's version
# from its header, and which of our columns an older export cannot carry.
FOCUS_ADDED_IN: dict[str, tuple[str, ...]] = {
    "1.0": (),
    "1.1": (
        "CapacityReservationId",
        "CapacityReservationStatus",
        "CommitmentDiscountQuantity",
        "CommitmentDiscountUnit",
        "ServiceSubcategory",
        "SkuMeter",
        "SkuPriceDetails",
    ),
    "1.2": (
        "BillingAccountType",
        "InvoiceId",
        "PricingCurrency",
        "PricingCurrencyContractedUnitPrice",
        "PricingCurrencyEffectiveCost",
        "PricingCurrencyListUnitPrice",
        "SubAccountType",
    ),
    "1.3": (
        "AllocatedMethodDetails",
        "AllocatedMethodId",
        "AllocatedResourceId",
        "AllocatedResourceName",
        "AllocatedTags",
        "ContractApplied",
        "HostProviderName",
        "ServiceProviderName",
    ),
}

# The idempotency key of every write is the first four; the rest say which run wrote the row,
# when (x_ingestion_date is x_ingested_at's UTC day, the column the clients partition by) and
# from which source.
LINEAGE_COLUMNS: tuple[Column, ...] = (
    Column("x_org_slug", _S),
    Column("x_pipeline_id", _S),
    Column("x_credential_id", _S),
    Column("x_pipeline_run_date", "DATE"),
    Column("x_run_id", _S),
    Column("x_ingested_at", _T),
    Column("x_ingestion_date", "DATE"),
    Column("x_source_system", _S),
)
LINEAGE_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in LINEAGE_COLUMNS)

COST_TABLE = "cost_data_standard_1_3"

# Custom (x_-prefixed, as FOCUS requires) columns some sources fill; null for the others.
EXTENSION_COLUMNS: tuple[Column, ...] = (
    Column("x_subscription_id", _S),
    Column("x_plan_name", _S),
    Column("x_billing_cycle", _S),
    # GenAI (procedures/genai/sp_genai_3_convert_to_focus.sql); FOCUS <= 1.4 has no token columns.
    Column("x_genai_provider", _S),  # openai | anthropic | deepseek ...
    Column("x_genai_model", _S),
    Column("x_genai_token_type", _S),  # input | cached_input | cache_write_5m | ... | output
    Column("x_genai_cost_source", _S),  # provider | price_table | none
)

COST_TABLE_COLUMNS: tuple[Column, ...] = FOCUS_1_3_COLUMNS + EXTENSION_COLUMNS + LINEAGE_COLUMNS
