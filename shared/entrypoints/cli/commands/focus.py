"""``pipelines focus check|export ORG``: FOCUS 1.3 conformance of an org's cost table, and
the table as the file FinOps tools read."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date
from typing import Any

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.errors import BadRequest
from shared.domain.run_window import parse_date
from shared.entrypoints.cli.console import print_table
from shared.handlers.focus_check import FocusReport, check_focus
from shared.handlers.focus_export import EXPORT_FORMATS, export_focus
from shared.handlers.services import Services


def register(sub: Any) -> None:
    focus = sub.add_parser("focus", help="FOCUS 1.3 tools").add_subparsers(
        required=True, metavar="ACTION"
    )
    p = focus.add_parser("check", help="check an org's FOCUS table against the FOCUS rules")
    p.add_argument("org")
    p.add_argument("--start", help="first x_pipeline_run_date to check (YYYY-MM-DD)")
    p.add_argument("--end", help="last x_pipeline_run_date to check (YYYY-MM-DD)")
    p.add_argument("--source", help="only rows of this x_source_system (gcp, aws, ...)")
    p.add_argument("--all", action="store_true", help="list passing rules too")
    p.set_defaults(func=cmd_focus_check)
    p = focus.add_parser(
        "export", help="write an org's FOCUS rows as a CSV or Parquet file FinOps tools read"
    )
    p.add_argument("org")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
    p.add_argument("--out", help="file to write (default: stdout)")
    p.add_argument("--start", help="first x_pipeline_run_date to export (YYYY-MM-DD)")
    p.add_argument("--end", help="last x_pipeline_run_date to export (YYYY-MM-DD)")
    p.add_argument("--source", help="only rows of this x_source_system (gcp, aws, ...)")
    p.set_defaults(func=cmd_focus_export)


def parse_day(value: str | None, name: str) -> date | None:
    return None if value is None else parse_date(value, f"--{name}")


@contextmanager
def org_services(org: str) -> Iterator[Services]:
    """The embedded runtime's services for an org that exists (else a clear error)."""
    with EmbeddedRuntime() as runtime:
        if runtime.services.store.get_org(org) is None:
            raise BadRequest(f"organization {org} does not exist")
        yield runtime.services


def cmd_focus_check(args: argparse.Namespace) -> int:
    with org_services(args.org) as services:
        report = check_focus(
            services.warehouse,
            services.settings.org_dataset(args.org),
            args.org,
            start=parse_day(args.start, "start"),
            end=parse_day(args.end, "end"),
            source_system=args.source,
        )
    print_report(report, show_all=args.all)
    return 0 if report.ok else 1


def cmd_focus_export(args: argparse.Namespace) -> int:
    start, end = parse_day(args.start, "start"), parse_day(args.end, "end")
    with org_services(args.org) as services:
        target = open(args.out, "wb") if args.out else nullcontext(sys.stdout.buffer)  # noqa: SIM115
        with target as out:
            written = export_focus(
                services.warehouse,
                services.settings.org_dataset(args.org),
                args.org,
                out,
                args.format,
                start=start,
                end=end,
                source_system=args.source,
            )
    print(f"{written} FOCUS rows written to {args.out or 'stdout'}", file=sys.stderr)
    return 0


def print_report(report: FocusReport, *, show_all: bool = False) -> None:
    shown = report.results if show_all else report.failed
    print(
        f"{report.rows_checked} rows checked against {len(report.results)} FOCUS 1.3 rules: "
        f"{len(report.failed)} rules violated"
    )
    if not shown:
        return
    print_table(
        [
            {"rule": r.rule_id, "violations": r.violations, "requirement": r.description}
            for r in shown
        ],
        ["rule", "violations", "requirement"],
    )
    for result in report.failed:
        for sample in result.samples:
            print(f"  {result.rule_id}: {sample}")
