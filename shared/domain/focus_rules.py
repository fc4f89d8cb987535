"""FOCUS 1.3 conformance rules as code: each rule an id, a description and a SQL check.

Pure data, no I/O. ``shared.handlers.focus_check`` runs them against an org's
``cost_data_standard_1_3``. A *row rule* is a GoogleSQL boolean expression over the FOCUS
columns that is TRUE for a row that breaks the rule (all the row rules run in one
``COUNTIF`` query). A *group rule* is a GROUP BY key and a HAVING condition that is TRUE for
a group that breaks it (e.g. a ServiceName mapped to two ServiceCategories). The SQL
here is constant text written against the fixed FOCUS column names; the only variable part
of a check query is the table, which is built from validated identifiers.

Sources: the FOCUS 1.3 column definitions (specification/datasets/cost_and_usage/columns)
and ../shared/reference/SOURCES_AND_FOCUS.md §1. Only requirements the data itself can be
checked for are here (not, e.g., "BilledCost sums to the invoice").
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.focus import FOCUS_1_3_COLUMNS

CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
CHARGE_FREQUENCIES = ("One-Time", "Recurring", "Usage-Based")
PRICING_CATEGORIES = ("Standard", "Dynamic", "Committed", "Other")
COMMITMENT_STATUSES = ("Used", "Unused")
COMMITMENT_CATEGORIES = ("Spend", "Usage")
CAPACITY_RESERVATION_STATUSES = ("Used", "Unused")

# ServiceCategory -> its allowed ServiceSubcategory values (FOCUS 1.2/1.3 lists).
SERVICE_SUBCATEGORIES: dict[str, tuple[str, ...]] = {
    "AI and Machine Learning": (
        "AI Platforms",
        "Bots",
        "Generative AI",
        "Machine Learning",
        "Natural Language Processing",
    ),
    "Analytics": (
        "Analytics Platforms",
        "Business Intelligence",
        "Data Processing",
        "Search",
        "Streaming Analytics",
    ),
    "Business Applications": ("Productivity and Collaboration",),
    "Compute": (
        "Containers",
        "End User Computing",
        "Quantum Compute",
        "Serverless Compute",
        "Virtual Machines",
    ),
    "Databases": (
        "Caching",
        "Data Warehouses",
        "Ledger Databases",
        "NoSQL Databases",
        "Relational Databases",
        "Time Series Databases",
    ),
    "Developer Tools": (
        "Developer Platforms",
        "Continuous Integration and Deployment",
        "Development Environments",
        "Source Code Management",
        "Quality Assurance",
    ),
    "Identity": ("Identity and Access Management",),
    "Integration": ("API Management", "Messaging", "Workflow Orchestration"),
    "Internet of Things": ("IoT Analytics", "IoT Platforms"),
    "Management and Governance": (
        "Architecture",
        "Compliance",
        "Cost Management",
        "Data Governance",
        "Disaster Recovery",
        "Endpoint Management",
        "Observability",
        "Support",
    ),
    "Media": ("Content Creation", "Gaming", "Media Streaming", "Mixed Reality"),
    "Migration": ("Data Migration", "Resource Migration"),
    "Mobile": (),
    "Multicloud": ("Multicloud Integration",),
    "Networking": (
        "Application Networking",
        "Content Delivery",
        "Network Connectivity",
        "Network Infrastructure",
        "Network Routing",
        "Network Security",
    ),
    "Security": (
        "Secret Management",
        "Security Posture Management",
        "Threat Detection and Response",
    ),
    "Storage": (
        "Backup Storage",
        "Block Storage",
        "File Storage",
        "Object Storage",
        "Storage Platforms",
    ),
    "Web": ("Application Platforms",),
    "Other": (),
}
SERVICE_CATEGORIES = tuple(SERVICE_SUBCATEGORIES)

# ISO 4217 active codes (plus the precious-metal/SDR codes ISO also lists).
# fmt: off
ISO_4217_CODES = frozenset({
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE",
    "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
    "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR",
    "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD",
    "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK",
    "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO",
    "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON",
    "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD",
    "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD",
    "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV",
    "WST", "XAF", "XAG", "XAU", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF", "XPT", "XSU", "XUA",
    "YER", "ZAR", "ZMW", "ZWG",
})
# fmt: on

# Mandatory columns that must never be null (FOCUS "Nullable: False"). ProviderName and
# PublisherName are deprecated in 1.3 but still mandatory in it. BillingAccountType is
# conditional in 1.3 and non-null in 1.4: every converter fills it, so FinOps tools reading
# our rows as 1.4 (focus-data-toolkit's lint) accept them.
MANDATORY_NOT_NULL = (
    "BilledCost",
    "BillingAccountId",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
    "ServiceProviderName",
)

# (quantity, unit) pairs: the unit is null exactly when the quantity is.
QUANTITY_UNIT_PAIRS = (
    ("ConsumedQuantity", "ConsumedUnit"),
    ("PricingQuantity", "PricingUnit"),
    ("CommitmentDiscountQuantity", "CommitmentDiscountUnit"),
)

_JSON_COLUMNS = tuple(c.name for c in FOCUS_1_3_COLUMNS if c.type == "JSON")

# (cost, unit price): the cost is the unit price x PricingQuantity (CAU-ListCost-C-011,
# CAU-ContractedCost-C-011). Tolerance as the official focus-validator's and the toolkit's:
# 1e-9 x max(|cost|, 1), which absorbs representation rounding only.
COST_OF_UNIT_PRICE = (("ListCost", "ListUnitPrice"), ("ContractedCost", "ContractedUnitPrice"))
UNIT_PRICES = (
    "ListUnitPrice",
    "ContractedUnitPrice",
    "PricingCurrencyListUnitPrice",
    "PricingCurrencyContractedUnitPrice",
)
# Columns a Tax row leaves null: a tax is not bought at a SKU's price.
NULL_FOR_TAX = ("SkuId", "SkuPriceId", "PricingCategory")


@dataclass(frozen=True, slots=True)
class RowRule:
    rule_id: str
    description: str
    violation: str  # GoogleSQL boolean: TRUE when the row breaks the rule
    columns: tuple[str, ...]  # shown beside a sample violating row


@dataclass(frozen=True, slots=True)
class GroupRule:
    rule_id: str
    description: str
    group_by: tuple[str, ...]
    having: str  # GoogleSQL boolean over aggregates: TRUE when the group breaks the rule


def _in(values: tuple[str, ...] | frozenset[str]) -> str:
    # Constant strings from this module; none holds a quote.
    return ", ".join(f"'{v}'" for v in sorted(values))


def _not_in(column: str, values: tuple[str, ...] | frozenset[str], *, nullable: bool) -> str:
    test = f"{column} NOT IN ({_in(values)})"
    return test if nullable else f"({column} IS NULL OR {test})"


def _subcategory_rule() -> str:
    allowed = sorted(
        f"{cat}|{sub}"
        for cat, subs in SERVICE_SUBCATEGORIES.items()
        for sub in (*subs, f"Other ({cat})")
    )
    return (
        "ServiceSubcategory IS NOT NULL AND "
        "CONCAT(IFNULL(ServiceCategory, ''), '|', ServiceSubcategory)"
        f" NOT IN ({_in(tuple(allowed))})"
    )


def _build_row_rules() -> tuple[RowRule, ...]:
    rules = [
        RowRule(
            f"{name}.NotNull", f"{name} is mandatory and must not be null", f"{name} IS NULL", ()
        )
        for name in MANDATORY_NOT_NULL
    ]
    rules += [
        RowRule(
            "ChargeCategory.AllowedValues",
            f"ChargeCategory must be one of {', '.join(CHARGE_CATEGORIES)}",
            _not_in("ChargeCategory", CHARGE_CATEGORIES, nullable=True),
            ("ChargeCategory",),
        ),
        RowRule(
            "ChargeClass.AllowedValues",
            "ChargeClass must be null or 'Correction'",
            "ChargeClass IS NOT NULL AND ChargeClass != 'Correction'",
            ("ChargeClass",),
        ),
        RowRule(
            "ChargeFrequency.AllowedValues",
            f"ChargeFrequency must be null or one of {', '.join(CHARGE_FREQUENCIES)}",
            _not_in("ChargeFrequency", CHARGE_FREQUENCIES, nullable=True),
            ("ChargeFrequency",),
        ),
        RowRule(
            "ChargeFrequency.PurchaseNotUsageBased",
            "ChargeFrequency must not be 'Usage-Based' when ChargeCategory is 'Purchase'",
            "ChargeCategory = 'Purchase' AND ChargeFrequency = 'Usage-Based'",
            ("ChargeCategory", "ChargeFrequency"),
        ),
        RowRule(
            "PricingCategory.AllowedValues",
            f"PricingCategory must be null or one of {', '.join(PRICING_CATEGORIES)}",
            _not_in("PricingCategory", PRICING_CATEGORIES, nullable=True),
            ("PricingCategory",),
        ),
        RowRule(
            "PricingCategory.CommittedWithCommitment",
            "PricingCategory must be 'Committed' when CommitmentDiscountId is not null",
            "CommitmentDiscountId IS NOT NULL AND IFNULL(PricingCategory, '') != 'Committed'",
            ("CommitmentDiscountId", "PricingCategory"),
        ),
        RowRule(
            "CommitmentDiscountStatus.AllowedValues",
            "CommitmentDiscountStatus must be null, 'Used' or 'Unused'",
            _not_in("CommitmentDiscountStatus", COMMITMENT_STATUSES, nullable=True),
            ("CommitmentDiscountStatus",),
        ),
        RowRule(
            "CommitmentDiscountStatus.UsageWithCommitment",
            "CommitmentDiscountStatus must be set on Usage rows with a CommitmentDiscountId "
            "and null on every other row",
            "IF(ChargeCategory = 'Usage' AND CommitmentDiscountId IS NOT NULL,"
            " CommitmentDiscountStatus IS NULL, CommitmentDiscountStatus IS NOT NULL)",
            ("ChargeCategory", "CommitmentDiscountId", "CommitmentDiscountStatus"),
        ),
        RowRule(
            "CommitmentDiscountCategory.AllowedValues",
            "CommitmentDiscountCategory must be null, 'Spend' or 'Usage', and null exactly "
            "when CommitmentDiscountId is null",
            f"{_not_in('CommitmentDiscountCategory', COMMITMENT_CATEGORIES, nullable=True)}"
            " OR ((CommitmentDiscountCategory IS NULL) != (CommitmentDiscountId IS NULL))",
            ("CommitmentDiscountId", "CommitmentDiscountCategory"),
        ),
        RowRule(
            "CapacityReservationStatus.AllowedValues",
            "CapacityReservationStatus must be null, 'Used' or 'Unused'",
            _not_in("CapacityReservationStatus", CAPACITY_RESERVATION_STATUSES, nullable=True),
            ("CapacityReservationStatus",),
        ),
        RowRule(
            "CapacityReservationStatus.WithReservationId",
            "CapacityReservationStatus must be null when CapacityReservationId is null, and set "
            "on Usage rows with a CapacityReservationId",
            "IF(CapacityReservationId IS NULL, CapacityReservationStatus IS NOT NULL,"
            " ChargeCategory = 'Usage' AND CapacityReservationStatus IS NULL)",
            ("ChargeCategory", "CapacityReservationId", "CapacityReservationStatus"),
        ),
        RowRule(
            # The "MUST NOT be null" half (Usage/Purchase rows with a commitment, not
            # corrections) is not checked: sources that do not carry the quantity (GCP CUDs,
            # Azure cost details) leave the conditional column null.
            "CommitmentDiscountQuantity.CommitmentRowsOnly",
            "CommitmentDiscountQuantity must be null unless ChargeCategory is 'Usage' or "
            "'Purchase' and CommitmentDiscountId and SkuPriceId are set",
            "CommitmentDiscountQuantity IS NOT NULL AND (CommitmentDiscountId IS NULL"
            " OR SkuPriceId IS NULL OR IFNULL(ChargeCategory, '') NOT IN ('Usage', 'Purchase'))",
            ("ChargeCategory", "CommitmentDiscountId", "SkuPriceId", "CommitmentDiscountQuantity"),
        ),
        RowRule(
            # Only this half: "MUST NOT be null when ResourceId is not null" holds only where
            # the source names a resource's type reliably (see the conversions).
            "ResourceType.NullWithoutResourceId",
            "ResourceType must be null when ResourceId is null",
            "ResourceType IS NOT NULL AND ResourceId IS NULL",
            ("ResourceId", "ResourceType"),
        ),
        RowRule(
            "ServiceCategory.AllowedValues",
            "ServiceCategory must be one of the FOCUS service categories",
            _not_in("ServiceCategory", SERVICE_CATEGORIES, nullable=True),
            ("ServiceName", "ServiceCategory"),
        ),
        RowRule(
            "ServiceSubcategory.AllowedValues",
            "ServiceSubcategory must be null or one of its ServiceCategory's subcategories",
            _subcategory_rule(),
            ("ServiceCategory", "ServiceSubcategory"),
        ),
        RowRule(
            "ConsumedQuantity.UsageOnly",
            "ConsumedQuantity must be null unless ChargeCategory is 'Usage' "
            "(and for unused commitment rows)",
            "ConsumedQuantity IS NOT NULL AND (IFNULL(ChargeCategory, '') != 'Usage'"
            " OR IFNULL(CommitmentDiscountStatus, '') = 'Unused')",
            ("ChargeCategory", "CommitmentDiscountStatus", "ConsumedQuantity"),
        ),
        RowRule(
            "ChargePeriod.StartBeforeEnd",
            "ChargePeriodStart must be before ChargePeriodEnd (end exclusive)",
            "ChargePeriodStart >= ChargePeriodEnd",
            ("ChargePeriodStart", "ChargePeriodEnd"),
        ),
        RowRule(
            "BillingPeriod.StartBeforeEnd",
            "BillingPeriodStart must be before BillingPeriodEnd (end exclusive)",
            "BillingPeriodStart >= BillingPeriodEnd",
            ("BillingPeriodStart", "BillingPeriodEnd"),
        ),
        RowRule(
            "BillingCurrency.Iso4217",
            "BillingCurrency must be an ISO 4217 currency code",
            _not_in("BillingCurrency", ISO_4217_CODES, nullable=True),
            ("BillingCurrency",),
        ),
        RowRule(
            "PricingCurrency.Iso4217OrVirtual",
            "PricingCurrency must be an ISO 4217 code or a virtual currency not shaped like one",
            "PricingCurrency IS NOT NULL AND REGEXP_CONTAINS(PricingCurrency, r'^[A-Z]{3}$')"
            f" AND PricingCurrency NOT IN ({_in(ISO_4217_CODES)})",
            ("PricingCurrency",),
        ),
    ]
    rules += [
        RowRule(
            f"{cost}.UnitPriceTimesQuantity",
            f"{cost} must equal {price} x PricingQuantity (within 1e-9 x max(|{cost}|, 1))",
            # SAFE_MULTIPLY: a product past NUMERIC is not a violation this check can judge.
            f"ABS(SAFE_MULTIPLY({price}, PricingQuantity) - {cost})"
            f" > 1e-9 * GREATEST(ABS({cost}), 1)",
            (price, "PricingQuantity", cost),
        )
        for cost, price in COST_OF_UNIT_PRICE
    ]
    rules += [
        RowRule(f"{price}.NonNegative", f"{price} must not be negative", f"{price} < 0", (price,))
        for price in UNIT_PRICES
    ]
    rules += [
        RowRule(
            f"{price}.WithSkuPriceId",
            f"{price} must not be null when SkuPriceId is not null",
            f"SkuPriceId IS NOT NULL AND {price} IS NULL",
            ("SkuPriceId", price),
        )
        for price in ("ListUnitPrice", "ContractedUnitPrice")
    ]
    rules += [
        RowRule(
            f"{name}.NullForTax",
            f"{name} must be null when ChargeCategory is 'Tax'",
            f"ChargeCategory = 'Tax' AND {name} IS NOT NULL",
            ("ChargeCategory", name),
        )
        for name in NULL_FOR_TAX
    ]
    rules += [
        RowRule(
            "SkuPriceDetails.NullWithoutSkuPriceId",
            "SkuPriceDetails must be null when SkuPriceId is null",
            "SkuPriceId IS NULL AND SkuPriceDetails IS NOT NULL",
            ("SkuPriceId",),
        ),
        RowRule(
            "EffectiveCost.BilledForTaxAndCredit",
            "EffectiveCost must equal BilledCost when ChargeCategory is 'Tax' or 'Credit'",
            "ChargeCategory IN ('Tax', 'Credit') AND EffectiveCost != BilledCost",
            ("ChargeCategory", "BilledCost", "EffectiveCost"),
        ),
    ]
    rules += [
        RowRule(
            f"{unit}.NullIffQuantityNull",
            f"{unit} must be null exactly when {quantity} is null",
            f"({quantity} IS NULL) != ({unit} IS NULL)",
            (quantity, unit),
        )
        for quantity, unit in QUANTITY_UNIT_PAIRS
    ]
    rules += [
        RowRule(
            f"{name}.JsonObject",
            f"{name} must be a JSON object when present",
            f"{name} IS NOT NULL AND JSON_TYPE({name}) != 'object'",
            (),
        )
        for name in _JSON_COLUMNS
    ]
    return tuple(rules)


ROW_RULES: tuple[RowRule, ...] = _build_row_rules()

GROUP_RULES: tuple[GroupRule, ...] = (
    GroupRule(
        "ServiceName.OneServiceCategory",
        "each ServiceName (per ServiceProviderName) must map to exactly one ServiceCategory",
        ("ServiceProviderName", "ServiceName"),
        "COUNT(DISTINCT ServiceCategory) > 1",
    ),
    GroupRule(
        "CommitmentDiscountUnit.OnePerCommitment",
        "CommitmentDiscountUnit must stay the same for a given CommitmentDiscountId",
        ("CommitmentDiscountId",),
        "CommitmentDiscountId IS NOT NULL AND COUNT(DISTINCT CommitmentDiscountUnit) > 1",
    ),
    GroupRule(
        "BillingAccountId.OneCurrencyPerInvoice",
        "a billing account bills one InvoiceId in one BillingCurrency",
        ("BillingAccountId", "InvoiceId"),
        "InvoiceId IS NOT NULL AND COUNT(DISTINCT BillingCurrency) > 1",
    ),
)

RULE_IDS: tuple[str, ...] = tuple(r.rule_id for r in ROW_RULES) + tuple(
    r.rule_id for r in GROUP_RULES
)
