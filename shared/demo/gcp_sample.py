"""Realistic GCP detailed billing export rows, for tests, the demo and the benchmark.

Deterministic (seeded). Two billing accounts (USD and EUR, the EUR one with a currency
conversion rate), three projects with labels, ancestry and resource tags, hourly Compute
Engine usage with sustained-use and committed-use (CUD) credits, the daily CUD commitment
fee (subscription.instance_id), Cloud Storage with a free-tier credit, BigQuery with a
promotion, Vertex AI, a Marketplace (third-party reseller) service, a monthly tax row that
arrives late (exported at the end of the window for the first usage day), a usage
correction, a goodwill credit and a rounding-error row. Values keep six decimals, as the
export does.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.domain.cloud_billing import EXPORT_SCHEMAS
from shared.ports import Warehouse

_ACCOUNTS = (("01A2B3-C4D5E6-F7A8B9", "USD", 1.0), ("0EU111-222333-444555", "EUR", 0.92))
_PROJECTS = (
    ("web-prod-4711", "4711", "Web production", {"env": "prod", "team": "web"}),
    ("data-lake-0815", "815", "Data lake", {"env": "prod", "team": "data"}),
    ("ml-sandbox-42", "42", "ML sandbox", {"env": "dev", "team": "ml"}),
)
_REGIONS = (("us-central1", "US", "us-central1-a"), ("europe-west1", "BE", "europe-west1-b"))
CUD_ID = "cud-n2-us-central1-7f3a"


def _kv(pairs: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in pairs.items()]


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(value: float) -> float:
    return round(value, 6)


_COMPUTE = ("6F81-5844-456A", "Compute Engine")
_INVOICE = ("6F81-5844-456A", "Invoice")
_N2_CORE = ("CP-N2-CORE", "N2 Instance Core running in Americas")
_HOUR, _DAY = timedelta(hours=1), timedelta(days=1)
_VM_CREDITS = [
    (CUD_ID, "Committed use discount: N2 cores", 0.55, "COMMITTED_USAGE_DISCOUNT"),
    ("sud-1", "Sustained usage discount", 0.1, "SUSTAINED_USAGE_DISCOUNT"),
]


class _Builder:
    def __init__(self, account: tuple[str, str, float]) -> None:
        self.account_id, self.currency, self.rate = account

    def span(
        self,
        start: datetime,
        length: timedelta,
        project: tuple[str, str, str, dict[str, str]],
        service: tuple[str, str],
        sku: tuple[str, str],
        cost_usd: float,
        usage: tuple[float, str, float, str] | None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A row of usage from ``start`` for ``length``; ``extra`` as :meth:`row` takes it."""
        return self.row(
            project=project,
            service=service,
            sku=sku,
            start=start,
            end=start + length,
            cost_usd=cost_usd,
            usage=usage,
            **extra,
        )

    def row(
        self,
        *,
        project: tuple[str, str, str, dict[str, str]],
        service: tuple[str, str],
        sku: tuple[str, str],
        start: datetime,
        end: datetime,
        cost_usd: float,
        usage: tuple[float, str, float, str] | None,
        credits: list[tuple[str, str, float, str]] = [],  # noqa: B006 - never mutated
        cost_type: str = "regular",
        region: tuple[str, str, str] | None = _REGIONS[0],
        resource: str | None = None,
        labels: dict[str, str] | None = None,
        exported: datetime | None = None,
        adjustment: dict[str, str] | None = None,
        subscription: str | None = None,
        seller: str | None = None,
        list_factor: float = 1.0,
    ) -> dict[str, Any]:
        pid, number, name, project_labels = project
        cost = _money(cost_usd * self.rate)
        amount, unit, pricing_amount, pricing_unit = usage or (0.0, None, 0.0, None)
        return {
            "billing_account_id": self.account_id,
            "service": {"id": service[0], "description": service[1]},
            "sku": {"id": sku[0], "description": sku[1]},
            "usage_start_time": _ts(start),
            "usage_end_time": _ts(end),
            "project": {
                "id": pid,
                "number": number,
                "name": name,
                "labels": _kv(project_labels),
                "ancestry_numbers": f"/1234567890/{number}/",
                "ancestors": [
                    {"resource_name": f"projects/{number}", "display_name": pid},
                    {"resource_name": "organizations/1234567890", "display_name": "acme.example"},
                ],
            },
            "labels": _kv(labels or {}),
            "system_labels": _kv({"goog-resource-type": "instance"} if resource else {}),
            "location": None
            if region is None
            else {
                "location": region[0],
                "country": region[1],
                "region": region[0],
                "zone": region[2],
            },
            "tags": [
                {"key": "cost-center", "value": "cc-42", "inherited": True, "namespace": "acme"}
            ]
            if pid.startswith("web")
            else [],
            "export_time": _ts(exported or end + timedelta(hours=6)),
            "cost": cost,
            "currency": self.currency,
            "currency_conversion_rate": self.rate,
            "usage": {
                "amount": amount,
                "unit": unit,
                "amount_in_pricing_units": pricing_amount,
                "pricing_unit": pricing_unit,
            },
            "credits": [
                {
                    "name": cname,
                    "amount": _money(share * -cost),
                    "full_name": cname,
                    "id": cid,
                    "type": ctype,
                }
                for cid, cname, share, ctype in credits
            ],
            "invoice": {"month": start.strftime("%Y%m"), "publisher_type": None},
            "cost_type": cost_type,
            "adjustment_info": adjustment,
            "cost_at_list": _money(cost * list_factor),
            "transaction_type": "THIRD_PARTY_RESELLER" if seller else "GOOGLE",
            "seller_name": seller,
            "resource": None
            if resource is None
            else {"name": resource, "global_name": f"//compute.googleapis.com/{resource}"},
            "price": None
            if usage is None or pricing_amount == 0
            else {
                "effective_price": round(cost / pricing_amount, 9),
                "tier_start_amount": 0.0,
                "unit": pricing_unit,
                "pricing_unit_quantity": 1.0,
            },
            "subscription": None if subscription is None else {"instance_id": subscription},
        }


def sample_gcp_export_rows(start: date, days: int, *, hours: int = 3) -> Iterator[dict[str, Any]]:
    """Detailed-export rows for ``days`` days from ``start`` (``hours`` VM hours a day)."""
    rng = random.Random(20261001)  # noqa: S311 - sample data, not security
    midnight = datetime(start.year, start.month, start.day, tzinfo=UTC)
    last_end = midnight + timedelta(days=days)
    web, data, ml = _PROJECTS
    for account in _ACCOUNTS:
        b = _Builder(account)
        for day in range(days):
            d0 = midnight + timedelta(days=day)
            for hour in range(hours):
                h0 = d0 + timedelta(hours=hour)
                yield b.span(
                    h0,
                    _HOUR,
                    web,
                    _COMPUTE,
                    _N2_CORE,
                    rng.uniform(0.8, 1.6),
                    (3600.0 * 4, "seconds", 4.0, "hour"),
                    credits=_VM_CREDITS,
                    resource=f"projects/{web[0]}/zones/us-central1-a/instances/web-{hour}",
                    labels={"app": "storefront", "env": "prod"},
                    list_factor=1.25,
                )
                spot = ("CP-SPOT-GPU", "Spot Preemptible Nvidia L4 GPU running in Americas")
                yield b.span(
                    h0,
                    _HOUR,
                    ml,
                    _COMPUTE,
                    spot,
                    rng.uniform(0.05, 0.2),
                    (3600.0, "seconds", 1.0, "hour"),
                    resource=f"projects/{ml[0]}/zones/us-central1-a/instances/train-{hour}",
                    list_factor=3.0,
                )
            gib, tib, tokens = rng.uniform(900, 1100), rng.uniform(0.5, 2.0), rng.uniform(2, 8)
            # (project, service, sku, cost in USD, usage, what else the row has)
            daily: list[tuple[Any, ...]] = [
                # the CUD fee, charged daily for the commitment whether used or not
                (
                    web,
                    _COMPUTE,
                    ("CUD-N2-CORE", "Commitment v1: N2 Cpu in Americas for 1 Year"),
                    2.4,
                    (86400.0 * 4, "seconds", 96.0, "hour"),
                    {"subscription": CUD_ID},
                ),
                (
                    data,
                    ("95FF-2EF5-5EA1", "Cloud Storage"),
                    ("GCS-STD", "Standard Storage US Multi-region"),
                    gib * 0.026 / 30,
                    (gib * 2**30 * 86400, "byte-seconds", gib / 30, "gibibyte month"),
                    {
                        "credits": [("free-tier", "Free tier", 0.05, "FREE_TIER")],
                        "region": ("us", "US", ""),
                        "labels": {"bucket": "lake-raw"},
                    },
                ),
                (
                    data,
                    ("24E6-581D-38E5", "BigQuery"),
                    ("BQ-ANALYSIS", "Analysis"),
                    tib * 6.25,
                    (tib * 2**40, "bytes", tib, "tebibyte"),
                    {"credits": [("promo-2026", "Startup program credit", 1.0, "PROMOTION")]},
                ),
                (
                    ml,
                    ("C7E2-9256-1C43", "Vertex AI"),
                    ("GEMINI-IN", "Gemini 2.5 Pro Input Tokens"),
                    tokens * 1.25,
                    (tokens * 1e6, "count", tokens, "1M tokens"),
                    {"labels": {"model": "gemini-2-5-pro"}},
                ),
                (
                    data,
                    ("ELASTIC-MKT", "Elastic Cloud (Marketplace)"),
                    ("ELASTIC-STD", "Elastic Cloud Standard"),
                    12.0,
                    (1.0, "count", 1.0, "day"),
                    {"seller": "Elasticsearch B.V."},
                ),
            ]
            for project, service, sku, cost, usage, extra in daily:
                yield b.span(d0, _DAY, project, service, sku, cost, usage, **extra)
        # corrections and credits, posted after the fact for the first day, and the tax and
        # rounding rows for the whole window (late rows: exported at its end for day one)
        window, late = last_end - midnight, last_end - timedelta(hours=1)
        after: list[tuple[Any, ...]] = [
            (
                _DAY,
                _COMPUTE,
                _N2_CORE,
                -0.75,
                "adjustment",
                {
                    "adjustment": {
                        "id": "adj-1",
                        "description": "Correction for overbilled N2 usage",
                        "mode": "PARTIAL_CORRECTION",
                        "type": "USAGE_CORRECTION",
                    },
                    "exported": last_end - timedelta(hours=2),
                },
            ),
            (
                _DAY,
                _COMPUTE,
                ("GOODWILL", "Goodwill credit"),
                -5.0,
                "adjustment",
                {
                    "adjustment": {
                        "id": "adj-2",
                        "description": "Goodwill credit for incident 4711",
                        "mode": "MANUAL_ADJUSTMENT",
                        "type": "GENERAL_ADJUSTMENT",
                    }
                },
            ),
            (
                window,
                _INVOICE,
                ("TAX", "Tax"),
                3.17 * days,
                "tax",
                {"region": None, "exported": late},
            ),
            (
                window,
                _INVOICE,
                ("ROUNDING", "Rounding error"),
                0.000004,
                "rounding_error",
                {"region": None, "exported": late},
            ),
        ]
        for length, service, sku, cost, cost_type, extra in after:
            yield b.span(
                midnight, length, web, service, sku, cost, None, cost_type=cost_type, **extra
            )


def load_sample_export(
    warehouse: Warehouse,
    dataset: str,
    table: str,
    start: date,
    days: int,
    *,
    schema: str = "detailed",
    hours: int = 3,
) -> int:
    """Create ``dataset.table`` as a billing export of ``schema`` and fill it with samples."""
    rows = sample_gcp_export_rows(start, days, hours=hours)
    return load_export_rows(warehouse, dataset, table, schema, rows)


def load_export_rows(
    warehouse: Warehouse, dataset: str, table: str, schema: str, rows: Iterable[dict[str, Any]]
) -> int:
    """Create ``dataset.table`` as a billing export of ``schema`` and fill it with ``rows``
    (the fields the schema has: the standard export has fewer)."""
    columns = EXPORT_SCHEMAS[schema]
    names = {c.name for c in columns}
    warehouse.ensure_dataset(dataset)
    kept = ({k: v for k, v in row.items() if k in names} for row in rows)
    return warehouse.load_rows(dataset, table, columns, kept)
