"""``make run``: a demo org, realistic SaaS subscriptions, last month through the dispatcher.

Everything goes through the same path as the API (dispatcher -> step runner ->
coordinator over the in-process bus), then the FOCUS table is summarised.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.cloud import run_cloud_demo
from shared.demo.genai import ingest_sample_genai
from shared.demo.subscriptions import sample_subscription_plans
from shared.domain.focus import COST_TABLE
from shared.domain.quota import SubscriptionStatus
from shared.domain.saas_subscriptions import PLANS_COLUMNS, PLANS_TABLE
from shared.domain.sql import table_ref
from shared.entrypoints.cli.console import print_table
from shared.entrypoints.cli.follow import run_and_wait
from shared.handlers.onboarding import create_org, ensure_org_dataset
from shared.handlers.services import Services

DEMO_ORG = "acme_demo"
SHOWN_DAYS = 7  # the summary shows the month's first days side by side, then the totals


def run_demo() -> int:
    started = time.monotonic()
    with EmbeddedRuntime() as runtime:
        services = runtime.services
        today = services.clock.now().date()
        month_end = today.replace(day=1) - timedelta(days=1)
        month_start = month_end.replace(day=1)
        print(f"Pipeline Service demo: embedded runtime in {services.settings.home}")
        _ensure_demo_org(services)
        dataset = ensure_org_dataset(services, DEMO_ORG)
        plans = sample_subscription_plans(DEMO_ORG, month_start)
        services.warehouse.load_rows(dataset, PLANS_TABLE, PLANS_COLUMNS, plans)
        print(f"loaded {len(plans)} sample SaaS subscriptions into {dataset}.{PLANS_TABLE}\n")
        status = run_and_wait(
            services,
            DEMO_ORG,
            "subscription",
            "costs",
            "subscription_cost",
            month_start,
            month_end,
            {},
            trigger="demo",
        )
        status = ingest_sample_genai(services, DEMO_ORG, month_start, month_end) or status
        status = run_cloud_demo(services, DEMO_ORG, month_start) or status
        print()
        _print_focus_summary(services, dataset, month_start, month_end)
        print(f"\ndone in {time.monotonic() - started:.1f} s")
        return status


def _ensure_demo_org(services: Services) -> None:
    if services.store.get_org(DEMO_ORG) is not None:
        print(f"demo org {DEMO_ORG} exists (its API key was printed when it was created)")
        return
    org, api_key = create_org(
        services, DEMO_ORG, name="Acme (demo)", plan="scale", status=SubscriptionStatus.ACTIVE
    )
    print(f"created demo org {org.org_slug} on plan {org.plan}; API key (shown once): {api_key}")


def _print_focus_summary(services: Services, dataset: str, start: date, end: date) -> None:
    rows = services.warehouse.query(
        "SELECT DATE(ChargePeriodStart) AS day, ServiceCategory AS category,"
        " ServiceName AS service,"
        " BillingCurrency AS currency, SUM(BilledCost) AS cost, COUNT(*) AS n"
        f" FROM {table_ref(services.warehouse.project_id, dataset, COST_TABLE)}"
        " WHERE x_org_slug = @org AND ChargePeriodStart >= TIMESTAMP(@start)"
        " AND ChargePeriodStart < TIMESTAMP(DATE_ADD(@end, INTERVAL 1 DAY))"
        " GROUP BY day, category, service, currency ORDER BY service, day",
        {"org": DEMO_ORG, "start": start, "end": end},
    )
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    shown = days[:SHOWN_DAYS]
    per_service: dict[tuple[str, str, str], dict[date, Decimal]] = defaultdict(dict)
    for row in rows:
        key = (row["category"], row["service"], row["currency"])
        per_service[key][row["day"]] = Decimal(row["cost"])
    total_rows = sum(int(r["n"]) for r in rows)
    print(
        f"FOCUS 1.3 summary: {dataset}.{COST_TABLE}, {total_rows} rows, "
        f"BilledCost per service per day ({start:%B %Y}; first {len(shown)} days shown)"
    )
    table = []
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (category, service, currency), by_day in sorted(per_service.items()):
        month_total = sum(by_day.values(), Decimal(0))
        totals[currency] += month_total
        table.append(
            {
                "category": category,
                "service": service,
                "cur": currency,
                **{f"{d:%d %b}": _money(by_day.get(d)) for d in shown},
                "month": _money(month_total),
            }
        )
    print_table(table, ["category", "service", "cur", *(f"{d:%d %b}" for d in shown), "month"])
    for currency, total in sorted(totals.items()):
        print(f"total {currency}: {_money(total)}")


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"
