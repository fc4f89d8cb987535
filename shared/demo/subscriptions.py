"""Sample SaaS subscriptions for the demo org: deterministic, dated relative to a month.

Covers every case the subscription procedures price differently: per-seat and flat,
monthly and annual, a plan starting and one ending mid-month, one billed in EUR, one with
a negotiated discount, and a trial that costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

_TEAMS = {
    "company": "Company-wide",
    "engineering": "Engineering",
    "design": "Design",
    "platform": "Platform",
    "security": "Security",
    "people": "People Ops",
}


@dataclass(frozen=True, slots=True)
class _Plan:
    slug: str
    provider: str
    plan_name: str
    billing_cycle: str
    pricing_model: str
    unit_price: str
    seats: int | None
    category: str
    subcategory: str | None
    team: str
    product: str | None = None
    currency: str = "USD"
    discount_pct: str | None = None
    status: str = "active"


_PRODUCTIVITY = ("Business Applications", "Productivity and Collaboration")
_OBSERVABILITY = ("Management and Governance", "Observability")

_PLANS = (
    _Plan("slack", "Slack", "Business+", "monthly", "per_seat", "12.50", 48, *_PRODUCTIVITY,
          "company"),
    _Plan("github", "GitHub", "Enterprise", "annual", "per_seat", "252.00", 35,
          "Developer Tools", "Source Code Management", "engineering"),
    _Plan("figma", "Figma", "Professional", "monthly", "per_seat", "15.00", 8, *_PRODUCTIVITY,
          "design"),
    _Plan("notion", "Notion", "Business", "monthly", "per_seat", "15.00", 60, *_PRODUCTIVITY,
          "company", discount_pct="20"),
    _Plan("datadog", "Datadog", "Pro", "monthly", "flat", "1800.00", None, *_OBSERVABILITY,
          "platform"),
    _Plan("1password", "1Password", "Business", "annual", "per_seat", "95.88", 60, "Security",
          "Secret Management", "security"),
    _Plan("zoom", "Zoom", "Business", "monthly", "per_seat", "21.99", 25, *_PRODUCTIVITY,
          "company", product="Zoom Workplace", status="cancelled"),
    _Plan("jira", "Atlassian", "Standard", "monthly", "per_seat", "7.53", 40, "Developer Tools",
          None, "engineering", product="Jira"),
    _Plan("linear", "Linear", "Business", "monthly", "per_seat", "14.00", 20, "Developer Tools",
          None, "engineering"),
    _Plan("personio", "Personio", "Professional", "monthly", "flat", "890.00", None,
          "Business Applications", None, "people", currency="EUR"),
    _Plan("sentry", "Sentry", "Business", "annual", "flat", "960.00", None, *_OBSERVABILITY,
          "platform", discount_pct="10"),
    _Plan("cursor", "Anysphere", "Business", "monthly", "per_seat", "40.00", 10,
          "Developer Tools", "Development Environments", "engineering", product="Cursor",
          status="trial"),
)  # fmt: skip


def sample_subscription_plans(org_slug: str, month_start: date) -> list[dict[str, Any]]:
    """Rows for ``subscription_plans``; ``month_start`` is taken to the first of its month.

    Linear starts on the 10th of that month, Zoom's last paid day is the 15th, Cursor is a
    trial from the 1st (no cost); the others started well before and run on.
    """
    first = month_start.replace(day=1)
    long_ago = first - timedelta(days=400)
    dates = {
        "linear": (first + timedelta(days=9), None),
        "zoom": (long_ago, first + timedelta(days=14)),
        "cursor": (first, None),
    }
    rows: list[dict[str, Any]] = []
    for plan in _PLANS:
        start, end = dates.get(plan.slug, (long_ago, None))
        rows.append(
            {
                "subscription_id": f"sub-{org_slug}-{plan.slug}",
                "provider": plan.provider,
                "product": plan.product,
                "plan_name": plan.plan_name,
                "billing_cycle": plan.billing_cycle,
                "pricing_model": plan.pricing_model,
                "unit_price": Decimal(plan.unit_price),
                "seats": plan.seats,
                "currency": plan.currency,
                "start_date": start,
                "end_date": end,
                "discount_pct": None if plan.discount_pct is None else Decimal(plan.discount_pct),
                "category": plan.category,
                "subcategory": plan.subcategory,
                "sub_account_id": f"cc-{plan.team}",
                "sub_account_name": _TEAMS[plan.team],
                "tags": {"team": plan.team, "vendor": plan.slug},
                "status": plan.status,
            }
        )
    return rows
