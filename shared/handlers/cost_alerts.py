"""Cost notifications: COST_THRESHOLD and ANOMALY_DETECTED after a run, SUMMARY_SCHEDULED.

The sums are computed in the warehouse (procedures/notifications/*.sql, values as
literals); the org's notification settings (root file + override) decide thresholds,
anomaly factor and channels, and the Notifier applies cooldown, retries and history.
A crossing is said once per period: the event's key names the day or month and its
cooldown lasts that period, however many runs cross it again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from shared.adapters.bigquery.sql_files import PROCEDURES_DIR, render_sql
from shared.domain.errors import BadRequest
from shared.domain.models import Run
from shared.domain.notifications import (
    EventType,
    NotificationSettings,
    PeriodCost,
    PipelineEvent,
    crossed_thresholds,
)
from shared.domain.states import RunStatus
from shared.handlers.notify import Notifier, run_event
from shared.handlers.services import Services

log = logging.getLogger(__name__)

SQL_DIR = PROCEDURES_DIR / "notifications"
DAY_SECONDS = 24 * 3600
_PERIOD_COOLDOWN = {"daily": DAY_SECONDS, "monthly": 31 * DAY_SECONDS}
SummaryPeriod = Literal["day", "week"]
SUMMARY_DAYS: dict[str, int] = {"day": 1, "week": 7}


def after_run(services: Services, run: Run) -> None:
    """Check a completed run's days for cost events, in the notifier's background."""
    sink = services.events
    if not isinstance(sink, Notifier):
        return
    sink.emit_computed(lambda: _safe_cost_events(services, sink, run))


def _safe_cost_events(services: Services, sink: Notifier, run: Run) -> list[PipelineEvent]:
    try:
        return cost_events(services, sink.settings_for(run.org_slug), run)
    except Exception:  # a broken check must never touch the run; it is logged
        log.exception("cost notifications for run %s could not be evaluated", run.run_id)
        return []


def cost_events(
    services: Services, settings: NotificationSettings, run: Run
) -> list[PipelineEvent]:
    """COST_THRESHOLD and ANOMALY_DETECTED events for the days a run covered.

    Queries only what the org routes somewhere (and thresholds it configured), so a run
    of an org without cost notifications costs no warehouse round trip.
    """
    events: list[PipelineEvent] = []
    thresholds = settings.cost_threshold
    if settings.routes(EventType.COST_THRESHOLD) and (thresholds.daily or thresholds.monthly):
        totals = [
            PeriodCost(r["period"], r["period_start"], r["currency"], Decimal(r["total"]))
            for r in _query(services, "cost_period_totals.sql", run.org_slug, run)
        ]
        for cost, limit in crossed_thresholds(totals, thresholds):
            label = (
                cost.start.isoformat() if cost.period == "daily" else cost.start.strftime("%Y-%m")
            )
            events.append(
                run_event(
                    services,
                    EventType.COST_THRESHOLD,
                    run,
                    key=f"{cost.period}:{label}:{cost.currency}",
                    cooldown_seconds=_PERIOD_COOLDOWN[cost.period],
                    message=(
                        f"{cost.period} billed cost for {label} is {_money(cost.total)} "
                        f"{cost.currency}, above the threshold of {_money(limit)} "
                        f"{cost.currency} (after run {run.run_id} of {run.pipeline_ref})"
                    ),
                )
            )
    if settings.routes(EventType.ANOMALY_DETECTED):
        anomaly = settings.anomaly
        rows = _query(
            services,
            "cost_anomalies.sql",
            run.org_slug,
            run,
            factor=Decimal(str(anomaly.factor)),  # a NUMERIC literal: exact comparison
            min_amount=anomaly.min_amount,
        )
        for r in rows:
            day, service, currency = r["cost_date"], r["service_name"], r["currency"]
            events.append(
                run_event(
                    services,
                    EventType.ANOMALY_DETECTED,
                    run,
                    key=f"{day.isoformat()}:{service}:{currency}",
                    cooldown_seconds=DAY_SECONDS,
                    message=(
                        f"{service} cost {_money(Decimal(r['cost']))} {currency} on {day}, "
                        f"up from {_money(Decimal(r['previous_cost']))} {currency} the day "
                        f"before (more than {anomaly.factor:g}x and at least "
                        f"{_money(anomaly.min_amount)} more)"
                    ),
                )
            )
    return events


@dataclass(frozen=True, slots=True)
class SummaryReport:
    org_slug: str
    start: date
    end: date
    runs: int
    failed: int
    deliveries: list[dict[str, Any]]

    def to_public(self) -> dict[str, Any]:
        return {
            "org_slug": self.org_slug,
            "start_date": self.start.isoformat(),
            "end_date": self.end.isoformat(),
            "runs": self.runs,
            "failed": self.failed,
            "deliveries": self.deliveries,
        }


def send_summaries(services: Services, period: str) -> list[SummaryReport]:
    """SUMMARY_SCHEDULED for every org that routes it: the last full day (UTC) or the
    seven days ending yesterday. Meant for a daily (or weekly) scheduler job; a repeat
    for the same period is suppressed by the event's period-long cooldown."""
    if period not in SUMMARY_DAYS:
        raise BadRequest("period must be day or week", field="period", allowed=["day", "week"])
    sink = services.events
    if not isinstance(sink, Notifier):
        return []
    end = services.clock.now().date() - timedelta(days=1)
    start = end - timedelta(days=SUMMARY_DAYS[period] - 1)
    reports = []
    for org in sorted(services.store.list_orgs(), key=lambda o: o.org_slug):
        if not sink.settings_for(org.org_slug).routes(EventType.SUMMARY_SCHEDULED):
            continue
        event, runs, failed = summary_event(services, org.org_slug, period, start, end)
        delivered = sink.deliver(event)
        reports.append(
            SummaryReport(
                org.org_slug, start, end, runs, failed, [d.to_public() for d in delivered]
            )
        )
    return reports


def summary_event(
    services: Services, org_slug: str, period: str, start: date, end: date
) -> tuple[PipelineEvent, int, int]:
    """The summary of [start, end]: runs created, failures, billed cost per category."""
    runs = _runs_created(services, org_slug, start, end)
    failed = [r for r in runs if r.status is RunStatus.FAILED]
    costs = _query(services, "cost_by_category.sql", org_slug, None, start=start, end=end)
    lines = [
        f"{'Daily' if period == 'day' else 'Weekly'} summary for {org_slug}, "
        f"{start.isoformat()} to {end.isoformat()} (UTC)",
        "",
        f"Runs: {len(runs)}, failed: {len(failed)}",
        *(f"  failed: {r.run_id} {r.pipeline_ref}: {r.error or ''}" for r in failed[:10]),
        "",
        "Billed cost per category:",
        *(f"  {c['category']}: {_money(Decimal(c['total']))} {c['currency']}" for c in costs),
    ]
    if not costs:
        lines.append("  (no cost rows)")
    label = f"{period}:{start.isoformat()}"
    event = PipelineEvent(
        EventType.SUMMARY_SCHEDULED,
        org_slug,
        f"summary-{period}-{start.isoformat()}",
        "summary",
        services.clock.now(),
        "\n".join(lines),
        key=label,
        cooldown_seconds=SUMMARY_DAYS[period] * DAY_SECONDS - 60,  # a late tick still sends
    )
    return event, len(runs), len(failed)


def _runs_created(services: Services, org_slug: str, start: date, end: date) -> list[Run]:
    """The org's runs created on [start, end], paging newest first."""
    found: list[Run] = []
    before, before_run_id = None, None
    while True:
        page = services.store.list_runs(
            org_slug, limit=200, before=before, before_run_id=before_run_id
        )
        for run in page:
            day = run.created_at.date()
            if day < start:
                return found
            if day <= end:
                found.append(run)
        if len(page) < 200:
            return found
        before, before_run_id = page[-1].created_at, page[-1].run_id


def _query(
    services: Services,
    file: str,
    org_slug: str,
    run: Run | None,
    *,
    start: date | None = None,
    end: date | None = None,
    **extra: object,
) -> list[dict[str, Any]]:
    literals: Mapping[str, object] = {
        "org_slug": org_slug,
        "start_date": run.start_date if run else start,
        "end_date": run.end_date if run else end,
        **extra,
    }
    sql = render_sql(
        SQL_DIR / file,
        identifiers={
            "project_id": services.warehouse.project_id,
            "dataset": services.settings.org_dataset(org_slug),
        },
        literals=literals,
    )
    return services.warehouse.query(sql)


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):,}"
