"""Realistic Azure amortized cost-details rows, written as an MCA or an EA CSV export.

One billing profile billed in EUR with USD pricing (ExchangeRatePricingToBilling 0.92).
Per day: on-demand VM usage, reservation-covered VM usage (amortized) and the reservation's
unused hours, savings-plan-covered usage, a Spot VM, storage and a Marketplace SaaS; once
per window a reservation purchase, its partial refund and a rounding adjustment. The EA
flavour renames the columns the way EA exports do (Cost, BillingCurrencyCode,
InstanceName, ReservationId, ...), writes ISO dates and tags without the outer braces.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from shared.domain.cloud_billing import AZURE_ALIASES, AZURE_COLUMNS

RESERVATION = "/providers/Microsoft.Capacity/reservationOrders/ro-1/reservations/res-d4s-weu"
SAVINGS_PLAN = "/providers/Microsoft.BillingBenefits/savingsPlanOrders/spo-1/savingsPlans/sp-1"
FX = 0.92  # USD pricing -> EUR billing
SUB = "/subscriptions/5c0ffee0-0000-4000-8000-000000000001"

# Meters and benefits the rows below share.
_VM: dict[str, Any] = {
    "MeterCategory": "Virtual Machines",
    "MeterSubCategory": "Dsv5 Series",
    "ConsumedService": "Microsoft.Compute",
    "UnitOfMeasure": "1 Hour",
    "ProductName": "Virtual Machines Dsv5 Series - D4s v5 - EU West",
    "ProductId": "DZH318Z0BQ4L",
}
_D4S = {**_VM, "MeterName": "D4s v5", "MeterId": "m-d4s"}
_RESERVED = {
    "PricingModel": "Reservation",
    "BenefitId": RESERVATION,
    "BenefitName": "D4s v5 WEU 1y",
}
_APP_SERVICE = {
    "MeterCategory": "Azure App Service",
    "MeterName": "P1 v3",
    "MeterId": "m-p1v3",
    "UnitOfMeasure": "1 Hour",
    "ConsumedService": "Microsoft.Web",
    "ProductName": "Azure App Service Premium v3 Plan",
    "ProductId": "DZH317F1HKN0",
}
_HOT_LRS = {
    "MeterCategory": "Storage",
    "MeterName": "Hot LRS Data Stored",
    "MeterId": "m-hot-lrs",
    "UnitOfMeasure": "1 GB/Month",
    "ConsumedService": "Microsoft.Storage",
    "ProductName": "Blob Storage Hot LRS",
    "ProductId": "DZH318Z0BNVX",
}
_ELASTIC = {
    "MeterCategory": "SaaS",
    "MeterName": "Elastic Cloud Standard",
    "UnitOfMeasure": "1 Unit",
    "Quantity": 1.0,
    "UnitPrice": 5.0,
    "PayGPrice": 5.0,
    "ProductName": "Elastic Cloud (Elasticsearch managed service)",
    "PublisherType": "Marketplace",
    "PublisherName": "Elastic",
}
_RESERVATION_ORDER = {
    "MeterCategory": "Virtual Machines",
    "MeterName": "Reservation",
    "ProductName": "Reserved VM Instance, D4s v5, EU West, 1 Year",
    "Quantity": 1.0,
    "UnitOfMeasure": "1 Unit",
    "Frequency": "OneTime",
    **_RESERVED,
}


def _resource(group: str, path: str) -> str:
    return f"{SUB}/resourceGroups/{group}/providers/{path}"


def _prices(quantity: float, unit: float, payg: float, effective: float) -> dict[str, float]:
    return {"Quantity": quantity, "UnitPrice": unit, "PayGPrice": payg, "EffectivePrice": effective}


def sample_cost_rows(start: date, days: int) -> Iterator[dict[str, Any]]:
    month = start.replace(day=1)
    month_end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)

    def row(day: date, charge: str, usd: float, **extra: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "BillingAccountId": "ba-mca-7788",
            "BillingAccountName": "Acme Holding",
            "BillingProfileId": "bp-eu-01",
            "BillingProfileName": "Acme Europe",
            "InvoiceId": f"E0{month:%Y%m}01",
            "SubscriptionId": "5c0ffee0-0000-4000-8000-000000000001",
            "SubscriptionName": "prod-weu",
            "ResourceGroup": "rg-web",
            "ResourceLocation": "westeurope",
            "Date": day,
            "BillingPeriodStartDate": month,
            "BillingPeriodEndDate": month_end,
            "ChargeType": charge,
            "Frequency": "UsageBased",
            "PricingModel": "OnDemand",
            "BillingCurrency": "EUR",
            "PricingCurrency": "USD",
            "ExchangeRatePricingToBilling": FX,
            "CostInBillingCurrency": round(usd * FX, 8),
            "PublisherType": "Azure",
            "PublisherName": "Microsoft",
        }
        base.update(extra)
        return base

    vms = "Microsoft.Compute/virtualMachines"
    d4s_payg = {"PaygCostInBillingCurrency": round(4.608 * FX, 8)}
    for offset in range(days):
        d = start + timedelta(days=offset)
        yield row(
            d,
            "Usage",
            4.608,
            **_D4S,
            **_prices(24.0, 0.192, 0.192, 0.192),
            **d4s_payg,
            ResourceId=_resource("rg-web", f"{vms}/web-1"),
            Tags={"team": "web", "env": "prod"},
        )
        etl = _resource("rg-data", f"{vms}/etl-1")
        covered = {**_D4S, **_prices(24.0, 0.0, 0.192, 0.1229), **_RESERVED, **d4s_payg}
        yield row(d, "Usage", 2.95, **covered, ResourceId=etl, Tags={"team": "data"})
        unused = {**_D4S, **_prices(6.0, 0.0, 0.192, 0.1229), **_RESERVED}
        yield row(d, "UnusedReservation", 0.74, **unused)
        yield row(
            d,
            "Usage",
            3.1,
            **_APP_SERVICE,
            **_prices(24.0, 0.0, 0.2, 0.129),
            PaygCostInBillingCurrency=round(4.8 * FX, 8),
            ResourceId=_resource("rg-web", "Microsoft.Web/serverfarms/plan-1"),
            PricingModel="SavingsPlan",
            BenefitId=SAVINGS_PLAN,
            BenefitName="Compute SP 3y",
        )
        yield row(
            d,
            "Usage",
            0.58,
            **_VM,
            MeterName="D8s v5 Spot",
            MeterId="m-d8s-spot",
            **_prices(24.0, 0.0242, 0.384, 0.0242),
            PricingModel="Spot",
            ResourceId=_resource("rg-ml", f"{vms}/spot-1"),
        )
        yield row(
            d,
            "Usage",
            0.71,
            **_HOT_LRS,
            **_prices(38.5, 0.0184, 0.0184, 0.0184),
            ResourceId=_resource("rg-data", "Microsoft.Storage/storageAccounts/lake"),
            Tags={"team": "data"},
        )
        yield row(d, "Usage", 5.0, **_ELASTIC)
    for charge, usd in (("Purchase", 300.0), ("Refund", -25.0)):
        yield row(start, charge, usd, **_RESERVATION_ORDER, UnitPrice=usd)
    yield row(start, "RoundingAdjustment", 0.000271, Frequency="OneTime")


def write_sample_export(path: Path, start: date, days: int, *, flavour: str = "mca") -> int:
    """Write the sample as a CSV (.csv or .csv.gz) with MCA or EA column names."""
    rename = {v: k for k, v in AZURE_ALIASES.items()} if flavour == "ea" else {}
    # EA keeps a few MCA names (e.g. Date) in recent exports: rename only those EA renames.
    for mca in ("Date", "EffectivePrice", "MeterSubCategory", "SubscriptionId"):
        rename.pop(mca, None)
    names = [rename.get(c.name, c.name) for c in AZURE_COLUMNS]
    rows = list(sample_cost_rows(start, days))
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="") as out:
        writer = csv.DictWriter(out, names)
        writer.writeheader()
        for r in rows:
            writer.writerow({rename.get(k, k): _text(v, flavour) for k, v in r.items()})
    return len(rows)


def _text(value: Any, flavour: str) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        text = json.dumps(value)
        return text[1:-1] if flavour == "ea" else text  # EA: tags without the braces
    if isinstance(value, date):
        return value.isoformat() if flavour == "ea" else value.strftime("%m/%d/%Y")
    return str(value)
