"""The sample Azure cost rows in the older layouts Cost Management has shipped.

* Version-1 usage export (pay-as-you-go / EA, before cost details), PascalCase as the
  portal's export wrote it (``UsageDateTime``, ``PreTaxCost``, ``SubscriptionGuid``,
  ``UsageQuantity``, ``InstanceId``, ``Currency``) and camelCase as the API's property names
  (``usageDateTime``, ``preTaxCost``, ``quantity``, ``currency``). It held usage charges
  only, billed in one currency: only the sample's on-demand usage rows fit it, with their
  prices in the billing currency.
* Cost details written in camelCase (``date``, ``costInBillingCurrency``, ...): the same
  rows as the PascalCase MCA export.

The names are written out here, not taken from the code under test.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from shared.demo.azure_sample import FX, sample_cost_rows
from shared.domain.cloud_billing import AZURE_COLUMNS

# Each version-1 column: its PascalCase and camelCase names, and the sample's column that
# holds its value ("-": the sample has none).
_V1_TABLE = """
    AccountName       accountName       -
    AccountOwnerId    accountOwnerId    -
    SubscriptionGuid  subscriptionGuid  SubscriptionId
    SubscriptionName  subscriptionName  SubscriptionName
    ResourceGroup     resourceGroup     ResourceGroup
    ResourceLocation  resourceLocation  ResourceLocation
    UsageDateTime     usageDateTime     Date
    ProductName       productName       ProductName
    MeterCategory     meterCategory     MeterCategory
    MeterSubcategory  meterSubcategory  MeterSubCategory
    MeterId           meterId           MeterId
    MeterName         meterName         MeterName
    MeterRegion       meterRegion       -
    UnitOfMeasure     unitOfMeasure     UnitOfMeasure
    UsageQuantity     quantity          Quantity
    ResourceRate      resourceRate      EffectivePrice
    PreTaxCost        preTaxCost        CostInBillingCurrency
    ConsumedService   consumedService   ConsumedService
    InstanceId        instanceId        ResourceId
    Tags              tags              Tags
    OfferId           offerId           -
    AdditionalInfo    additionalInfo    -
    Currency          currency          BillingCurrency
"""
V1_COLUMNS: tuple[tuple[str, str, str | None], ...] = tuple(
    (pascal, camel, None if ours == "-" else ours)
    for pascal, camel, ours in (line.split() for line in _V1_TABLE.strip().splitlines())
)


def v1_usage_rows(start: date, days: int) -> list[dict[str, Any]]:
    """The sample's on-demand usage rows, prices turned into the billing currency."""
    rows = []
    for row in sample_cost_rows(start, days):
        if row["ChargeType"] != "Usage" or row["PricingModel"] != "OnDemand":
            continue
        if row.get("EffectivePrice") is not None:
            row["EffectivePrice"] = round(row["EffectivePrice"] * FX, 8)
        rows.append(row)
    return rows


def write_v1_usage_export(
    path: Path, start: date, days: int, *, camel: bool
) -> list[dict[str, Any]]:
    rows = v1_usage_rows(start, days)
    header = [camel_name if camel else pascal for pascal, camel_name, _ in V1_COLUMNS]
    body = [
        [_text(row.get(ours), camel) if ours else "" for _, _, ours in V1_COLUMNS] for row in rows
    ]
    _write(path, header, body)
    return rows


def write_camel_cost_details(path: Path, start: date, days: int) -> int:
    """The MCA sample with every column name in camelCase."""
    names = [c.name for c in AZURE_COLUMNS]
    rows = list(sample_cost_rows(start, days))
    header = [name[0].lower() + name[1:] for name in names]
    _write(path, header, [[_text(r.get(n), False) for n in names] for r in rows])
    return len(rows)


def _write(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


def _text(value: Any, camel: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, date):
        # the API's ISO timestamps (seven fraction digits) vs the portal file's US dates
        return f"{value.isoformat()}T00:00:00.0000000Z" if camel else value.strftime("%m/%d/%Y")
    return str(value)
