"""pipelines: the operator's command line over the embedded runtime."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from collections.abc import Sequence

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.bodies import key_value_params, split_pipeline_ref
from shared.domain.errors import PipelineError
from shared.domain.quota import SubscriptionStatus
from shared.domain.run_window import parse_run_window
from shared.domain.states import RunStatus
from shared.entrypoints.cli import commands
from shared.entrypoints.cli.console import print_table
from shared.entrypoints.cli.follow import run_and_wait
from shared.handlers.onboarding import create_org


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PipelineError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipelines", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run a pipeline and wait for it")
    p.add_argument("org")
    p.add_argument("pipeline", metavar="PROVIDER/DOMAIN/PIPELINE")
    p.add_argument("--date")
    p.add_argument("--start-date")
    p.add_argument("--end-date")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="show a run and its steps")
    p.add_argument("org")
    p.add_argument("run_id")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("history", help="list an org's runs, newest first")
    p.add_argument("org")
    p.add_argument("--provider")
    p.add_argument("--status", choices=[s.value for s in RunStatus])
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("validate", help="validate every pipeline config in configs/")
    p.set_defaults(func=cmd_validate)

    org = sub.add_parser("org", help="manage organizations").add_subparsers(
        required=True, metavar="ACTION"
    )
    p = org.add_parser("create", help="create an org; prints its API key once")
    p.add_argument("org")
    p.add_argument("--name")
    p.add_argument("--plan", default="professional")
    p.add_argument("--status", default="ACTIVE", choices=[s.value for s in SubscriptionStatus])
    p.set_defaults(func=cmd_org_create)

    p = sub.add_parser("sql", help="run a query on the embedded warehouse")
    p.add_argument("query")
    p.add_argument("--json", action="store_true", help="print rows as JSON lines")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("demo", help="seed a demo org and run the subscription pipeline")
    p.set_defaults(func=cmd_demo)

    # Feature areas add their verbs from shared/entrypoints/cli/commands/<area>.py (each has
    # register()).
    for info in pkgutil.iter_modules(commands.__path__):
        importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


# -- commands ---------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    provider, domain, pipeline = split_pipeline_ref(args.pipeline)
    with EmbeddedRuntime() as runtime:
        services = runtime.services
        start, end = parse_run_window(
            {"date": args.date, "start_date": args.start_date, "end_date": args.end_date},
            services.clock.now().date(),
        )
        return run_and_wait(
            services, args.org, provider, domain, pipeline, start, end, key_value_params(args.param)
        )


def cmd_status(args: argparse.Namespace) -> int:
    with EmbeddedRuntime() as runtime:
        run = runtime.services.store.get_run(args.org, args.run_id)
        if run is None:
            print(f"run {args.run_id} not found for {args.org}", file=sys.stderr)
            return 1
        public = run.to_public()
        print(f"run {run.run_id}  {run.pipeline_ref}  {run.status.value}")
        print(f"  window {public['start_date']} .. {public['end_date']}  trigger {run.trigger}")
        if run.error:
            print(f"  error: {run.error}")
        for warning in public["warnings"]:
            print(f"  warning: {warning}")
        print_table(public["steps"], ["step_id", "status", "attempt", "rows_written", "error"])
        return 0


def cmd_history(args: argparse.Namespace) -> int:
    with EmbeddedRuntime() as runtime:
        runs = runtime.services.store.list_runs(
            args.org,
            provider=args.provider,
            status=RunStatus(args.status) if args.status else None,
            limit=args.limit,
        )
        print_table(
            [r.to_public() for r in runs],
            ["run_id", "pipeline_ref", "status", "start_date", "end_date", "created_at"],
        )
        return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from shared.config.catalog import PipelineCatalog
    from shared.processors import PROCESSORS

    catalog = PipelineCatalog(ps_types=PROCESSORS.keys())
    errors = catalog.validate_all()
    for error in errors:
        print(f"invalid: {error.message}", file=sys.stderr)
    print(f"{len(catalog.keys())} pipeline configs, {len(errors)} invalid")
    return 1 if errors else 0


def cmd_org_create(args: argparse.Namespace) -> int:
    with EmbeddedRuntime() as runtime:
        org, api_key = create_org(
            runtime.services,
            args.org,
            name=args.name or args.org,
            plan=args.plan,
            status=SubscriptionStatus(args.status),
        )
        print(f"created {org.org_slug} ({org.plan}, {org.status.value})")
        print(f"API key (shown once, store it now): {api_key}")
        return 0


def cmd_sql(args: argparse.Namespace) -> int:
    with EmbeddedRuntime() as runtime:
        rows = runtime.services.warehouse.query(args.query)
        if args.json:
            for row in rows:
                print(json.dumps(row, default=str))
        else:
            print_table(rows, list(rows[0]) if rows else [])
        return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from shared.demo.run import run_demo

    return run_demo()


if __name__ == "__main__":
    raise SystemExit(main())
