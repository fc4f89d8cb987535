"""``pipelines reconcile ORG --start --end``: cloud source totals vs FOCUS totals."""

from __future__ import annotations

import argparse
from typing import Any

from shared.entrypoints.cli.commands.focus import org_services, parse_day
from shared.entrypoints.cli.console import print_table
from shared.handlers.reconciliation import reconciliation_rows


def register(sub: Any) -> None:
    p = sub.add_parser(
        "reconcile", help="per day and billing currency: source vs FOCUS BilledCost/EffectiveCost"
    )
    p.add_argument("org")
    p.add_argument("--start", help="first usage day (YYYY-MM-DD)")
    p.add_argument("--end", help="last usage day (YYYY-MM-DD)")
    p.set_defaults(func=cmd_reconcile)


def cmd_reconcile(args: argparse.Namespace) -> int:
    start, end = parse_day(args.start, "start"), parse_day(args.end, "end")
    with org_services(args.org) as services:
        rows = reconciliation_rows(
            services.warehouse,
            services.settings.org_dataset(args.org),
            args.org,
            start=start,
            end=end,
        )
    table = [
        {
            **row,
            **{k: f"{row[k]:,.2f}" for k in _MONEY},
            "status": "ok" if row["ok"] else "MISMATCH",
        }
        for row in rows
    ]
    print_table(
        table,
        ["day", "source", "currency", "source_rows", "focus_rows", *_MONEY, "status"],
    )
    bad = sum(1 for row in rows if not row["ok"])
    print(f"{len(rows)} day/currency totals, {bad} beyond one cent")
    return 1 if bad else 0


_MONEY = (
    "source_billed_cost",
    "focus_billed_cost",
    "source_effective_cost",
    "focus_effective_cost",
)
