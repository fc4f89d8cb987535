"""A conformant FOCUS 1.3 row for checker tests (they break one thing at a time)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def good_row(slug: str, **overrides: Any) -> dict[str, Any]:
    """A conformant FOCUS usage row; tests break one thing at a time."""
    row: dict[str, Any] = {
        "BilledCost": Decimal("1.5"),
        "BillingAccountId": "ba-1",
        "BillingAccountType": "Billing Account",
        "BillingCurrency": "USD",
        "BillingPeriodStart": datetime(2026, 10, 1, tzinfo=UTC),
        "BillingPeriodEnd": datetime(2026, 11, 1, tzinfo=UTC),
        "ChargeCategory": "Usage",
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodStart": datetime(2026, 10, 2, tzinfo=UTC),
        "ChargePeriodEnd": datetime(2026, 10, 3, tzinfo=UTC),
        "ConsumedQuantity": Decimal("3"),
        "ConsumedUnit": "Hours",
        "ContractedCost": Decimal("1.5"),
        "EffectiveCost": Decimal("1.5"),
        "InvoiceIssuerName": "Example Cloud",
        "ListCost": Decimal("2"),
        "PricingCategory": "Standard",
        "PricingQuantity": Decimal("3"),
        "PricingUnit": "Hours",
        "ProviderName": "Example Cloud",
        "PublisherName": "Example Cloud",
        "HostProviderName": "Example Cloud",
        "ServiceProviderName": "Example Cloud",
        "ServiceCategory": "Compute",
        "ServiceSubcategory": "Virtual Machines",
        "ServiceName": "Example VMs",
        "Tags": {"env": "prod"},
        "x_org_slug": slug,
        "x_pipeline_id": "bad_rows",
        "x_credential_id": "test",
        "x_pipeline_run_date": date(2026, 10, 2),
        "x_run_id": "run-bad",
        "x_ingested_at": datetime(2026, 10, 3, tzinfo=UTC),
        "x_ingestion_date": date(2026, 10, 3),
        "x_source_system": "test",
    }
    row.update(overrides)
    return row
