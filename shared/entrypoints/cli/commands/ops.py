"""Operating verbs: logs, cancel, schedules, backfill, notifications, quota upkeep."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.bodies import key_value_params, split_pipeline_ref
from shared.domain.errors import NotFound
from shared.entrypoints.cli.console import print_table
from shared.handlers import backfill, cost_alerts, maintenance, meta_mirror, notify, scheduler
from shared.handlers.cancel import cancel_run
from shared.handlers.services import Services

PROGRESS_POLL_SECONDS = 0.2


def _runtime() -> EmbeddedRuntime:
    """The runtime the verbs use (tests substitute one on a shared warehouse)."""
    return EmbeddedRuntime()


def register(sub: Any) -> None:
    p = sub.add_parser("logs", help="show a run's log, steps or transitions")
    p.add_argument("org")
    p.add_argument("run_id")
    view = p.add_mutually_exclusive_group()
    view.add_argument("--steps", action="store_true", help="the steps instead of log lines")
    view.add_argument("--transitions", action="store_true", help="every state change")
    p.set_defaults(func=cmd_logs)

    p = sub.add_parser("cancel", help="cancel a pending or running run")
    p.add_argument("org")
    p.add_argument("run_id")
    p.add_argument("--reason", default="cancelled from the CLI")
    p.set_defaults(func=cmd_cancel)

    schedules = sub.add_parser("schedules", help="scheduled pipelines").add_subparsers(
        required=True, metavar="ACTION"
    )
    p = schedules.add_parser("list", help="list schedules")
    p.add_argument("--org")
    p.set_defaults(func=cmd_schedules_list)
    p = schedules.add_parser("create", help="schedule an org's pipeline")
    p.add_argument("org")
    p.add_argument("pipeline", metavar="PROVIDER/DOMAIN/PIPELINE")
    p.add_argument("--cron", help="5-field cron, UTC (default: the pipeline's schedule)")
    p.add_argument("--disabled", action="store_true")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(func=cmd_schedules_create)
    p = schedules.add_parser("trigger", help="fire one schedule now, or every due one")
    p.add_argument("schedule_id", nargs="?", help="omit to fire every due schedule (a tick)")
    p.set_defaults(func=cmd_schedules_trigger)

    p = sub.add_parser("backfill", help="run a pipeline once per day over a date range")
    p.add_argument("org")
    p.add_argument("pipeline", metavar="PROVIDER/DOMAIN/PIPELINE")
    p.add_argument("--start-date", required=True)
    p.add_argument("--end-date", required=True)
    p.add_argument("--reprocess", choices=["none", "failed", "all"], default="none")
    p.add_argument("--max-concurrent", type=int)
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(func=cmd_backfill)

    notifications = sub.add_parser("notifications", help="notification delivery").add_subparsers(
        required=True, metavar="ACTION"
    )
    p = notifications.add_parser("test", help="send a test notification through an org's settings")
    p.add_argument("org")
    p.add_argument("--event", default="PIPELINE_FAILURE")
    p.set_defaults(func=cmd_notifications_test)
    p = notifications.add_parser("history", help="an org's delivery history, newest first")
    p.add_argument("org")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_notifications_history)
    p = notifications.add_parser(
        "summary", help="send SUMMARY_SCHEDULED to every org that routes it"
    )
    p.add_argument("--period", choices=["day", "week"], default="day")
    p.set_defaults(func=cmd_notifications_summary)

    p = sub.add_parser("quotas", help="quota upkeep: daily/monthly rollover, stale slots")
    p.add_argument("job", choices=["daily", "monthly", "sweep"])
    p.set_defaults(func=cmd_quotas)

    p = sub.add_parser(
        "meta-catch-up", help="re-mirror what the BigQuery meta tables miss (a periodic job)"
    )
    p.add_argument(
        "--days",
        type=int,
        default=meta_mirror.CATCH_UP_DAYS,
        help="compare runs created this many days back",
    )
    p.set_defaults(func=cmd_meta_catch_up)


def _with_services(work: Callable[[Services], int]) -> int:
    with _runtime() as runtime:
        return work(runtime.services)


def cmd_logs(args: argparse.Namespace) -> int:
    def show(services: Services) -> int:
        run = services.store.get_run(args.org, args.run_id)
        if run is None:
            raise NotFound(f"run {args.run_id} not found for {args.org}")
        if args.steps:
            print_table(
                run.to_public()["steps"],
                [
                    "step_id",
                    "status",
                    "attempt",
                    "started_at",
                    "finished_at",
                    "rows_written",
                    "error",
                ],
            )
        elif args.transitions:
            print_table(
                [
                    {
                        "at": t.at.isoformat(),
                        "step": t.step_id or "(run)",
                        "from": t.from_status,
                        "to": t.to_status,
                        "reason": t.reason,
                    }
                    for t in services.store.list_transitions(args.org, run.run_id)
                ],
                ["at", "step", "from", "to", "reason"],
            )
        else:
            print_table(
                [
                    {
                        "at": e.at.isoformat(),
                        "level": e.level,
                        "step": e.step_id or "(run)",
                        "message": e.message,
                    }
                    for e in services.store.list_logs(args.org, run.run_id)
                ],
                ["at", "level", "step", "message"],
            )
        return 0

    return _with_services(show)


def cmd_cancel(args: argparse.Namespace) -> int:
    def cancel(services: Services) -> int:
        run = cancel_run(services, args.org, args.run_id, reason=args.reason)
        print(f"run {run.run_id} {run.status.value}")
        print_table(run.to_public()["steps"], ["step_id", "status", "attempt"])
        return 0

    return _with_services(cancel)


_SCHEDULE_COLUMNS = [
    "schedule_id",
    "org_slug",
    "pipeline_ref",
    "cron",
    "enabled",
    "next_fire_at",
    "last_run_id",
]
_FIRE_COLUMNS = ["schedule_id", "fire_time", "run_id", "status", "attempts", "error"]


def cmd_schedules_list(args: argparse.Namespace) -> int:
    def show(services: Services) -> int:
        found = scheduler.list_schedules(services, args.org)
        print_table([s.to_public() for s in found], _SCHEDULE_COLUMNS)
        return 0

    return _with_services(show)


def cmd_schedules_create(args: argparse.Namespace) -> int:
    def create(services: Services) -> int:
        body: dict[str, Any] = {
            "org_slug": args.org,
            "pipeline": "/".join(split_pipeline_ref(args.pipeline)),
            "enabled": not args.disabled,
            "parameters": key_value_params(args.param),
        }
        if args.cron:
            body["cron"] = args.cron
        created = scheduler.create_schedule(services, body)
        print_table([created.to_public()], _SCHEDULE_COLUMNS)
        return 0

    return _with_services(create)


def cmd_schedules_trigger(args: argparse.Namespace) -> int:
    def fire(services: Services) -> int:
        if args.schedule_id:
            one = scheduler.trigger(services, args.schedule_id)
            fired = [one] if one else []
        else:
            fired = scheduler.tick(services)
        if not fired:
            print("nothing fired (not due, or already fired this minute)")
        print_table([f.to_public() for f in fired], _FIRE_COLUMNS)
        return 1 if any(f.status.value == "failed" for f in fired) else 0

    return _with_services(fire)


def cmd_backfill(args: argparse.Namespace) -> int:
    provider, domain, pipeline = split_pipeline_ref(args.pipeline)

    def run(services: Services) -> int:
        org = services.store.get_org(args.org)
        if org is None:
            raise NotFound(f"organization {args.org} does not exist (pipelines org create)")
        body: dict[str, Any] = {
            "start_date": args.start_date,
            "end_date": args.end_date,
            "reprocess": args.reprocess,
            "parameters": key_value_params(args.param),
        }
        if args.max_concurrent is not None:
            body["max_concurrent"] = args.max_concurrent
        current = backfill.start_backfill(services, org, provider, domain, pipeline, body)
        bf = current.backfill
        print(
            f"backfill {bf.backfill_id}  {bf.pipeline_ref}  {bf.start_date} .. {bf.end_date}"
            f"  ({len(bf.days)} to run, {len(bf.skipped)} skipped by --reprocess {bf.policy.value},"
            f" at most {bf.max_concurrent} at once)"
        )
        live = sys.stdout.isatty()
        last = ""
        while True:
            line = _progress_line(current)
            if line != last:
                # On a terminal the line rewrites itself; in a log each change is a line.
                if live:
                    print(f"\r{line}", end="", flush=True)
                else:
                    print(line)
                last = line
            if current.done:
                break
            time.sleep(PROGRESS_POLL_SECONDS)
            current = backfill.advance(services, org.org_slug, bf.backfill_id)
        if live:
            print()
        public = current.to_public()
        print_table(public["days"], ["date", "run_id", "status"])
        failed = current.counts()["failed"] + current.counts()["cancelled"]
        return 1 if failed else 0

    return _with_services(run)


def _progress_line(current: backfill.Progress) -> str:
    c = current.counts()
    total = len(current.backfill.days)
    finished = c["completed"] + c["failed"] + c["cancelled"]
    width = 30
    filled = width * finished // total if total else width
    bar = "#" * filled + "." * (width - filled)
    blocked = f"  waiting: {current.blocked}" if current.blocked else ""
    return (
        f"[{bar}] {finished}/{total}  running {c['in_flight']}  completed {c['completed']}"
        f"  failed {c['failed']}{blocked}"
    )


_DELIVERY_COLUMNS = ["at", "event", "channel", "target", "status", "attempts", "error"]


def cmd_notifications_test(args: argparse.Namespace) -> int:
    def send(services: Services) -> int:
        if services.store.get_org(args.org) is None:
            raise NotFound(f"organization {args.org} does not exist")
        sent = notify.send_test(services, args.org, args.event)
        print_table([d.to_public() for d in sent], _DELIVERY_COLUMNS)
        return 0 if sent and all(d.status.value == "sent" for d in sent) else 1

    return _with_services(send)


def cmd_notifications_history(args: argparse.Namespace) -> int:
    def show(services: Services) -> int:
        found = notify.notifier(services).store.list_deliveries(args.org, limit=args.limit)
        print_table([d.to_public() for d in found], _DELIVERY_COLUMNS)
        return 0

    return _with_services(show)


def cmd_notifications_summary(args: argparse.Namespace) -> int:
    def send(services: Services) -> int:
        sent = cost_alerts.send_summaries(services, args.period)
        rows = [
            {**s.to_public(), "status": d["status"], "channel": d["channel"]}
            for s in sent
            for d in s.to_public()["deliveries"]
        ]
        print_table(
            rows, ["org_slug", "start_date", "end_date", "runs", "failed", "channel", "status"]
        )
        return 0

    return _with_services(send)


def cmd_quotas(args: argparse.Namespace) -> int:
    def job(services: Services) -> int:
        if args.job == "daily":
            print_table(
                maintenance.as_dicts(maintenance.reset_daily_quotas(services)),
                ["org_slug", "bucket", "used", "limit", "current_used"],
            )
        elif args.job == "monthly":
            report, purged = maintenance.reset_monthly_quotas(services)
            print_table(
                maintenance.as_dicts(report),
                ["org_slug", "bucket", "used", "limit", "current_used"],
            )
            print(f"purged {purged} released reservation rows from earlier months")
        else:
            swept = maintenance.reset_stale_concurrent_counts(services)
            print_table(maintenance.as_dicts(swept), ["org_slug", "run_id", "run_failed", "reason"])
        return 0

    return _with_services(job)


def cmd_meta_catch_up(args: argparse.Namespace) -> int:
    def job(services: Services) -> int:
        print(meta_mirror.catch_up(services, days=args.days).summary())
        return 0

    return _with_services(job)
