"""Cloud billing sources: the tables they land in, and the reconciliation table. Pure data.

GCP: the Cloud Billing export to BigQuery (standard ``gcp_billing_export_v1_<ID>`` and
detailed ``gcp_billing_export_resource_v1_<ID>``), as documented in
docs.cloud.google.com/billing/docs/how-to/export-data-bigquery-tables. The raw table in the
org's dataset keeps the export's nested records as they are (the conversion reads them in
SQL) plus our lineage columns; a standard export simply leaves the detailed-only records null.
"""

from __future__ import annotations

from shared.domain.columns import Column
from shared.domain.focus import FOCUS_1_3_COLUMNS, LINEAGE_COLUMNS

_S, _F, _T, _B, _N, _D = "STRING", "FLOAT", "TIMESTAMP", "BOOL", "NUMERIC", "DATE"


def _record(name: str, *fields: Column, repeated: bool = False) -> Column:
    return Column(name, "RECORD", "REPEATED" if repeated else "NULLABLE", fields)


_KEY_VALUE = (Column("key", _S), Column("value", _S))

GCP_STANDARD_EXPORT_COLUMNS: tuple[Column, ...] = (
    Column("billing_account_id", _S),
    _record("service", Column("id", _S), Column("description", _S)),
    _record("sku", Column("id", _S), Column("description", _S)),
    Column("usage_start_time", _T),
    Column("usage_end_time", _T),
    _record(
        "project",
        Column("id", _S),
        Column("number", _S),
        Column("name", _S),
        _record("labels", *_KEY_VALUE, repeated=True),
        Column("ancestry_numbers", _S),
        _record(
            "ancestors", Column("resource_name", _S), Column("display_name", _S), repeated=True
        ),
    ),
    _record("labels", *_KEY_VALUE, repeated=True),
    _record("system_labels", *_KEY_VALUE, repeated=True),
    _record(
        "location",
        Column("location", _S),
        Column("country", _S),
        Column("region", _S),
        Column("zone", _S),
    ),
    _record(
        "tags",
        *_KEY_VALUE,
        Column("inherited", _B),
        Column("namespace", _S),
        repeated=True,
    ),
    Column("export_time", _T),
    Column("cost", _F),
    Column("currency", _S),
    Column("currency_conversion_rate", _F),
    _record(
        "usage",
        Column("amount", _F),
        Column("unit", _S),
        Column("amount_in_pricing_units", _F),
        Column("pricing_unit", _S),
    ),
    _record(
        "credits",
        Column("name", _S),
        Column("amount", _F),
        Column("full_name", _S),
        Column("id", _S),
        Column("type", _S),
        repeated=True,
    ),
    _record("invoice", Column("month", _S), Column("publisher_type", _S)),
    Column("cost_type", _S),
    _record(
        "adjustment_info",
        Column("id", _S),
        Column("description", _S),
        Column("mode", _S),
        Column("type", _S),
    ),
    Column("cost_at_list", _F),
    Column("transaction_type", _S),
    Column("seller_name", _S),
)

GCP_DETAILED_ONLY_COLUMNS: tuple[Column, ...] = (
    _record("resource", Column("name", _S), Column("global_name", _S)),
    _record(
        "price",
        Column("effective_price", _F),
        Column("tier_start_amount", _F),
        Column("unit", _S),
        Column("pricing_unit_quantity", _F),
    ),
    _record("subscription", Column("instance_id", _S)),
)

GCP_DETAILED_EXPORT_COLUMNS = GCP_STANDARD_EXPORT_COLUMNS + GCP_DETAILED_ONLY_COLUMNS

GCP_RAW_TABLE = "gcp_billing_export_raw"
# x_pipeline_run_date is the usage day (DATE(usage_start_time)): the unit of re-extraction.
# x_export_row_id keys a row (a GENERATE_UUID() of the extract), so the conversion can
# aggregate its arrays by joins instead of per-row subqueries. (Tables created before it
# also hold x_export_row, the row's number within its day, which nothing reads now.)
GCP_RAW_COLUMNS: tuple[Column, ...] = (
    *GCP_DETAILED_EXPORT_COLUMNS,
    Column("x_export_row_id", "STRING"),
    *LINEAGE_COLUMNS,
)

EXPORT_SCHEMAS: dict[str, tuple[Column, ...]] = {
    "standard": GCP_STANDARD_EXPORT_COLUMNS,
    "detailed": GCP_DETAILED_EXPORT_COLUMNS,
}

# AWS CUR 2.0 (Data Exports, table COST_AND_USAGE_REPORT): the columns the conversion uses,
# with their CUR 2.0 names. Money and quantities stay FLOAT as delivered; the map columns
# (resource_tags, product) become JSON. x_pipeline_run_date is the usage day.
_AWS_STRINGS = (
    "identity_line_item_id",
    "identity_time_interval",
    "bill_bill_type",
    "bill_billing_entity",
    "bill_invoice_id",
    "bill_invoicing_entity",
    "bill_payer_account_id",
    "bill_payer_account_name",
    "line_item_usage_account_id",
    "line_item_usage_account_name",
    "line_item_line_item_type",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_availability_zone",
    "line_item_resource_id",
    "line_item_currency_code",
    "line_item_line_item_description",
    "line_item_legal_entity",
    "product_sku",
    "product_product_family",
    "product_region_code",
    "product_instance_type",
    "product_servicecode",
    "pricing_term",
    "pricing_unit",
    "pricing_rate_id",
    "pricing_purchase_option",
    "reservation_reservation_a_r_n",
    "savings_plan_savings_plan_a_r_n",
)
_AWS_TIMESTAMPS = (
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
)
_AWS_FLOATS = (
    "line_item_usage_amount",
    "line_item_unblended_rate",
    "line_item_unblended_cost",
    "line_item_net_unblended_cost",
    "pricing_public_on_demand_rate",
    "pricing_public_on_demand_cost",
    "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_used_commitment",
    "savings_plan_total_commitment_to_date",
)
AWS_CUR_MAP_COLUMNS = ("resource_tags", "product")
AWS_CUR_COLUMNS: tuple[Column, ...] = (
    *(Column(n, _S) for n in _AWS_STRINGS),
    *(Column(n, _T) for n in _AWS_TIMESTAMPS),
    *(Column(n, _F) for n in _AWS_FLOATS),
    *(Column(n, "JSON") for n in AWS_CUR_MAP_COLUMNS),
)
# What a file must carry to be converted at all (the usage day, the cost and its currency,
# the line item type that decides the charge category); other columns may be absent.
AWS_REQUIRED = (
    "line_item_usage_start_date",
    "line_item_line_item_type",
    "line_item_unblended_cost",
    "line_item_currency_code",
)
AWS_RAW_TABLE = "aws_cur_raw"
AWS_RAW_COLUMNS: tuple[Column, ...] = (*AWS_CUR_COLUMNS, *LINEAGE_COLUMNS)

# Azure Cost Management cost-details exports (actual or amortized; same columns), by their
# MCA names; AZURE_ALIASES lists the EA names of the same fields. Date is a TIMESTAMP
# (midnight UTC) so every provider's raw table is sliced the same way.
_AZURE_STRINGS = (
    "BillingAccountId",
    "BillingAccountName",
    "BillingProfileId",
    "BillingProfileName",
    "InvoiceId",
    "SubscriptionId",
    "SubscriptionName",
    "ResourceGroup",
    "ResourceId",
    "ResourceLocation",
    "ProductName",
    "ProductId",
    "MeterCategory",
    "MeterSubCategory",
    "MeterName",
    "MeterId",
    "UnitOfMeasure",
    "BillingCurrency",
    "PricingCurrency",
    "ChargeType",
    "Frequency",
    "PricingModel",
    "BenefitId",
    "BenefitName",
    "PublisherType",
    "PublisherName",
    "ConsumedService",
)
_AZURE_TIMESTAMPS = ("Date", "BillingPeriodStartDate", "BillingPeriodEndDate")
_AZURE_FLOATS = (
    "Quantity",
    "EffectivePrice",
    "UnitPrice",
    "PayGPrice",
    "CostInBillingCurrency",
    "PaygCostInBillingCurrency",
    "ExchangeRatePricingToBilling",
)
AZURE_COLUMNS: tuple[Column, ...] = (
    *(Column(n, _S) for n in _AZURE_STRINGS),
    *(Column(n, _T) for n in _AZURE_TIMESTAMPS),
    *(Column(n, _F) for n in _AZURE_FLOATS),
    Column("Tags", "JSON"),
)
AZURE_ALIASES: dict[str, str] = {  # EA (and older) column name -> MCA name
    "Cost": "CostInBillingCurrency",
    "BillingCurrencyCode": "BillingCurrency",
    "PricingCurrencyCode": "PricingCurrency",
    "InstanceName": "ResourceId",
    "Product": "ProductName",
    "ReservationId": "BenefitId",
    "ReservationName": "BenefitName",
    "SubscriptionGuid": "SubscriptionId",
    "MeterSubcategory": "MeterSubCategory",
    "UsageDate": "Date",
    "ResourceRate": "EffectivePrice",
}
AZURE_REQUIRED = ("Date", "CostInBillingCurrency", "BillingCurrency")
AZURE_RAW_TABLE = "azure_cost_details_raw"
AZURE_RAW_COLUMNS: tuple[Column, ...] = (*AZURE_COLUMNS, *LINEAGE_COLUMNS)

# OCI cost reports (CSV, gzip): the file's "group/field" names become "group_field" here
# (OCI_FILE_NAMES maps them back); the "tags/<namespace>.<key>" columns are gathered into
# one JSON Tags column by the reader.
_OCI_FIELDS: tuple[tuple[str, str], ...] = (
    ("lineItem/referenceNo", _S),
    ("lineItem/tenantId", _S),
    ("lineItem/intervalUsageStart", _T),
    ("lineItem/intervalUsageEnd", _T),
    ("product/service", _S),
    ("product/compartmentId", _S),
    ("product/compartmentName", _S),
    ("product/region", _S),
    ("product/availabilityDomain", _S),
    ("product/resourceId", _S),
    ("usage/billedQuantity", _F),
    ("usage/billedQuantityOverage", _F),
    ("cost/subscriptionId", _S),
    ("cost/productSku", _S),
    ("product/Description", _S),
    ("cost/unitPrice", _F),
    ("cost/unitPriceOverage", _F),
    ("cost/myCost", _F),
    ("cost/myCostOverage", _F),
    ("cost/currencyCode", _S),
    ("cost/billingUnitReadable", _S),
    ("cost/skuUnitDescription", _S),
    ("cost/overageFlag", _S),
    ("lineItem/isCorrection", _S),
    ("lineItem/backreferenceNo", _S),
)
OCI_FILE_NAMES: dict[str, str] = {name: name.replace("/", "_") for name, _ in _OCI_FIELDS}
OCI_COLUMNS: tuple[Column, ...] = (
    *(Column(name.replace("/", "_"), kind) for name, kind in _OCI_FIELDS),
    Column("tags", "JSON"),
)
OCI_REQUIRED = ("lineItem_intervalUsageStart", "cost_myCost", "cost_currencyCode")
OCI_RAW_TABLE = "oci_cost_report_raw"
OCI_RAW_COLUMNS: tuple[Column, ...] = (*OCI_COLUMNS, *LINEAGE_COLUMNS)

# ServiceName -> ServiceCategory/Subcategory, loaded from configs/system/mappings/*.yml.
SERVICE_MAP_TABLE = "focus_service_mappings"
SERVICE_MAP_COLUMNS: tuple[Column, ...] = (
    Column("provider", _S),
    Column("service_key", _S),
    Column("service_category", _S),
    Column("service_subcategory", _S),
)

# One row per (org, pipeline, credential, day, billing currency) of a cloud run.
RECONCILIATION_TABLE = "cloud_cost_reconciliation"
RECONCILIATION_COLUMNS: tuple[Column, ...] = (
    Column("billing_currency", _S),
    Column("source_rows", "INT64"),
    Column("focus_rows", "INT64"),
    Column("source_billed_cost", _N),
    Column("focus_billed_cost", _N),
    Column("source_effective_cost", _N),
    Column("focus_effective_cost", _N),
    *LINEAGE_COLUMNS,
)
RECONCILIATION_TOLERANCE = "0.01"  # one cent (of the billing currency)

_ = _D  # DATE is used through LINEAGE_COLUMNS


# Providers' own FOCUS exports (AWS Data Exports FOCUS 1.0/1.2, Azure's FocusCost export,
# OCI's FOCUS reports): the file columns are FOCUS's, so the raw table is the FOCUS 1.3
# columns (numbers NUMERIC, read exactly from the file's text) plus lineage; a file of an
# earlier version lacks the newer columns. Provider-specific x_ columns are not read.
FOCUS_EXPORT_COLUMNS: tuple[Column, ...] = FOCUS_1_3_COLUMNS
FOCUS_EXPORT_REQUIRED = ("ChargePeriodStart", "BilledCost", "BillingCurrency", "ChargeCategory")
FOCUS_EXPORT_MAP_COLUMNS = tuple(c.name for c in FOCUS_1_3_COLUMNS if c.type == "JSON")
FOCUS_EXPORT_RAW_TABLE = "focus_export_raw"
FOCUS_EXPORT_RAW_COLUMNS: tuple[Column, ...] = (*FOCUS_EXPORT_COLUMNS, *LINEAGE_COLUMNS)
