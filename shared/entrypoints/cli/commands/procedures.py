"""Procedure and migration verbs: ``pipelines procedures list|sync``, ``migrations run``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.entrypoints.cli.console import print_table
from shared.handlers import procedures
from shared.handlers.services import Services


def _runtime() -> EmbeddedRuntime:
    """The runtime the verbs use (tests substitute one on a shared warehouse)."""
    return EmbeddedRuntime()


def register(sub: Any) -> None:
    verbs = sub.add_parser("procedures", help="stored procedures in the org datasets")
    actions = verbs.add_subparsers(required=True, metavar="ACTION")
    p = actions.add_parser("list", help="the procedures of procedures/ (and an org's state)")
    p.add_argument("--org", help="show whether this org's dataset has each one, and current")
    p.set_defaults(func=cmd_procedures_list)
    p = actions.add_parser("sync", help="create or replace every procedure where it changed")
    _org_or_all(p)
    p.set_defaults(func=cmd_procedures_sync)

    verbs = sub.add_parser("migrations", help="one-off SQL migrations of the org datasets")
    actions = verbs.add_subparsers(required=True, metavar="ACTION")
    p = actions.add_parser("list", help="the migrations in procedures/migrations")
    p.set_defaults(func=cmd_migrations_list)
    p = actions.add_parser("run", help="apply a migration once to each org dataset")
    p.add_argument("name", help="NNN_name, or the name without its number")
    p.add_argument("--dry-run", action="store_true", help="show the statements, apply nothing")
    _org_or_all(p)
    p.set_defaults(func=cmd_migrations_run)


def _org_or_all(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--org", help="one org's dataset")
    target.add_argument("--all", action="store_true", help="every org's dataset")


def _with_services(work: Callable[[Services], int]) -> int:
    with _runtime() as runtime:
        return work(runtime.services)


def cmd_procedures_list(args: argparse.Namespace) -> int:
    def show(services: Services) -> int:
        listed = procedures.list_procedures(services, args.org)
        columns = ["name", "file"]
        if args.org:
            columns += ["exists", "current", "deployed_at"]
        print_table(listed["procedures"], columns)
        return 0

    return _with_services(show)


def cmd_procedures_sync(args: argparse.Namespace) -> int:
    def sync(services: Services) -> int:
        report = procedures.sync_procedures(services, args.org)
        rows = [{"org_slug": o["org_slug"], **p} for o in report for p in o["procedures"]]
        print_table(rows, ["org_slug", "name", "status", "file"])
        return 0

    return _with_services(sync)


def cmd_migrations_list(args: argparse.Namespace) -> int:
    print_table(
        [{"name": m.name, "file": f"migrations/{m.path.name}"} for m in procedures.migrations()],
        ["name", "file"],
    )
    return 0


def cmd_migrations_run(args: argparse.Namespace) -> int:
    """Exit 1 when an org's apply failed (the others still ran)."""

    def run(services: Services) -> int:
        report = procedures.run_migration(services, args.name, org=args.org, dry_run=args.dry_run)
        for org in report["orgs"]:
            if args.dry_run:
                print(f"-- {org['org_slug']} ({org['dataset']}): {org['status']}")
                for statement in org["statements"]:
                    print(statement + ";")
        print_table(
            [{**o, "error": o.get("error", "")} for o in report["orgs"]],
            ["org_slug", "dataset", "status", "error"],
        )
        return 1 if any(o["status"] == "failed" for o in report["orgs"]) else 0

    return _with_services(run)
