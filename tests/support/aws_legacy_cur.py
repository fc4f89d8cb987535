"""The sample CUR rows written as a legacy Cost and Usage Report, in either legacy spelling.

The names are written out as AWS documents them (the CUR data dictionary: ``lineItem/...``
in CSV reports; Athena's lower_snake names in Parquet reports), not derived by the code
under test, so a wrong derivation there fails here.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from shared.demo.aws_sample import sample_cur_rows

# Each column of the sample: its CUR 2.0 name, which is also its legacy Athena (Parquet)
# name, and its legacy CSV name. CUR 2.0's bill_payer_account_name and
# line_item_usage_account_name have no legacy column.
_LEGACY_TABLE = """
    identity_line_item_id                     identity/LineItemId
    identity_time_interval                    identity/TimeInterval
    bill_bill_type                            bill/BillType
    bill_billing_entity                       bill/BillingEntity
    bill_invoice_id                           bill/InvoiceId
    bill_invoicing_entity                     bill/InvoicingEntity
    bill_payer_account_id                     bill/PayerAccountId
    bill_billing_period_start_date            bill/BillingPeriodStartDate
    bill_billing_period_end_date              bill/BillingPeriodEndDate
    line_item_usage_account_id                lineItem/UsageAccountId
    line_item_line_item_type                  lineItem/LineItemType
    line_item_usage_start_date                lineItem/UsageStartDate
    line_item_usage_end_date                  lineItem/UsageEndDate
    line_item_product_code                    lineItem/ProductCode
    line_item_usage_type                      lineItem/UsageType
    line_item_operation                       lineItem/Operation
    line_item_availability_zone               lineItem/AvailabilityZone
    line_item_resource_id                     lineItem/ResourceId
    line_item_usage_amount                    lineItem/UsageAmount
    line_item_currency_code                   lineItem/CurrencyCode
    line_item_unblended_rate                  lineItem/UnblendedRate
    line_item_unblended_cost                  lineItem/UnblendedCost
    line_item_net_unblended_cost              lineItem/NetUnblendedCost
    line_item_line_item_description           lineItem/LineItemDescription
    line_item_legal_entity                    lineItem/LegalEntity
    product_sku                               product/sku
    product_product_family                    product/productFamily
    product_region_code                       product/regionCode
    product_instance_type                     product/instanceType
    product_servicecode                       product/servicecode
    pricing_term                              pricing/term
    pricing_unit                              pricing/unit
    pricing_rate_id                           pricing/RateId
    pricing_purchase_option                   pricing/PurchaseOption
    pricing_public_on_demand_rate             pricing/publicOnDemandRate
    pricing_public_on_demand_cost             pricing/publicOnDemandCost
    reservation_reservation_a_r_n             reservation/ReservationARN
    reservation_effective_cost                reservation/EffectiveCost
    reservation_unused_amortized_upfront_fee_for_billing_period  reservation/UnusedAmortizedUpfrontFeeForBillingPeriod
    reservation_unused_recurring_fee          reservation/UnusedRecurringFee
    savings_plan_savings_plan_a_r_n           savingsPlan/SavingsPlanARN
    savings_plan_savings_plan_effective_cost  savingsPlan/SavingsPlanEffectiveCost
    savings_plan_used_commitment              savingsPlan/UsedCommitment
    savings_plan_total_commitment_to_date     savingsPlan/TotalCommitmentToDate
"""  # noqa: E501 - a table, one of its names is that long
LEGACY_CSV_NAMES = dict(line.split() for line in _LEGACY_TABLE.strip().splitlines())
# The product attribute and the tags the sample sets, as each legacy spelling names them.
PRODUCT_NAME = ("product/ProductName", "product_product_name")
TAGS = {
    "user_team": ("resourceTags/user:team", "resource_tags_user_team"),
    "user_env": ("resourceTags/user:env", "resource_tags_user_env"),
}
# The optional column groups a legacy report carries only when its services are used.
COMMITMENT_GROUPS = ("reservation/", "savingsPlan/", "pricing/")


def legacy_cur_rows(
    start: date, days: int, *, athena: bool, without: Iterable[str] = ()
) -> tuple[list[str], list[dict[str, Any]]]:
    """The header and rows of the sample as a legacy report; ``without``: column groups
    (legacy prefixes such as ``"reservation/"``) the report does not have."""
    spelling = 1 if athena else 0
    dropped = tuple(without)
    names = {
        ours: ours if athena else csv_name
        for ours, csv_name in LEGACY_CSV_NAMES.items()
        if not csv_name.startswith(dropped)  # startswith(()) is False: keep all
    }
    header = [*names.values(), PRODUCT_NAME[spelling], *(t[spelling] for t in TAGS.values())]
    rows = []
    for source in sample_cur_rows(start, days):
        row = {legacy: source.get(ours) for ours, legacy in names.items()}
        row[PRODUCT_NAME[spelling]] = (source.get("product") or {}).get("product_name")
        for tag, pair in TAGS.items():
            row[pair[spelling]] = (source.get("resource_tags") or {}).get(tag)
        rows.append(row)
    return header, rows


def write_legacy_cur(
    path: Path, start: date, days: int, *, without: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Write a legacy report: ``.parquet`` in Athena names, ``.csv``/``.csv.gz`` slash-named."""
    athena = path.name.endswith(".parquet")
    header, rows = legacy_cur_rows(start, days, athena=athena, without=without)
    path.parent.mkdir(parents=True, exist_ok=True)
    if athena:
        columns = {name: [r.get(name) for r in rows] for name in header}
        pq.write_table(pa.table(columns), path)
        return rows
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="") as out:
        writer = csv.DictWriter(out, header)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _csv(v) for k, v in r.items()})
    return rows


def _csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")  # as legacy CSV reports write it
    return str(value)
