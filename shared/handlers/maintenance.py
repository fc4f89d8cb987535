"""Quota upkeep over time: the daily and monthly rollovers, and sweeping stale slots.

Daily and monthly usage are counts over UTC day/month buckets (see the state store), so
nothing has to be zeroed at midnight: a new bucket starts empty by itself. The "reset"
jobs therefore close the previous bucket (report what each org used against its limit)
and, monthly, delete reservation rows that can no longer count toward any limit. Both
are idempotent: running one twice reports the same and deletes nothing more.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from shared.domain.config import PipelineConfig
from shared.domain.errors import IllegalTransition, PipelineError
from shared.domain.models import Run
from shared.domain.notifications import EventType
from shared.domain.quota import day_bucket, month_bucket
from shared.domain.retry import backoff_delay
from shared.domain.states import RunStatus, StepStatus
from shared.handlers import meta_mirror
from shared.handlers.notify import emit
from shared.handlers.services import Services

log = logging.getLogger(__name__)

DEFAULT_STEP_SILENCE_SECONDS = 300  # + lease grace, when the run's pipeline is gone
ORPHAN_SECONDS = 600  # a reservation whose run was never created (dispatcher died)


@dataclass(frozen=True, slots=True)
class BucketUsage:
    org_slug: str
    bucket: str  # the closed day (YYYY-MM-DD) or month (YYYY-MM)
    used: int
    limit: int
    current_used: int  # already used in the bucket that just opened


@dataclass(frozen=True, slots=True)
class SweptSlot:
    org_slug: str
    run_id: str
    reason: str
    run_failed: bool  # the run itself was marked failed (False: it had already finished)


def reset_daily_quotas(services: Services) -> list[BucketUsage]:
    """Close yesterday (UTC): each org's runs that day against its plan's daily limit."""
    now = services.clock.now()
    yesterday = now - timedelta(days=1)
    report = _closed_buckets(services, now, yesterday, day_bucket(yesterday), "daily")
    log.info("daily quota rollover to %s: %d orgs", day_bucket(now), len(report))
    return report


def reset_monthly_quotas(services: Services) -> tuple[list[BucketUsage], int]:
    """Close last month and delete released reservations from before it.

    Returns the report and how many rows were purged. Last month's rows are kept so
    its report can be produced again (idempotent); older ones count toward nothing.
    """
    now = services.clock.now()
    last_month = now.replace(day=1) - timedelta(days=1)
    report = _closed_buckets(services, now, last_month, month_bucket(last_month), "monthly")
    purged = services.store.purge_reservations(month_bucket(last_month))
    log.info("monthly quota rollover to %s: purged %d rows", month_bucket(now), purged)
    return report, purged


def _closed_buckets(
    services: Services,
    now: datetime,
    closed_at: datetime,
    bucket: str,
    period: Literal["daily", "monthly"],
) -> list[BucketUsage]:
    """Each org's use of the ``period`` bucket holding ``closed_at`` against its limit, with
    its use so far of the one holding ``now``."""
    report = []
    for org in services.store.list_orgs():
        closed = services.store.quota_usage(org.org_slug, closed_at)
        current = services.store.quota_usage(org.org_slug, now)
        used, limit, so_far = (getattr(x, period) for x in (closed, org.limits, current))
        report.append(BucketUsage(org.org_slug, bucket, used, limit, so_far))
    return report


def reset_stale_concurrent_counts(
    services: Services, *, all_dead: str | None = None
) -> list[SweptSlot]:
    """Release slots held by finished runs or by runs silent for too long.

    A run is silent when nothing happened to it (no transition, no log line) for
    longer than its slowest step may legitimately take: timeout + lease grace + the
    longest retry backoff. Such a run is marked failed with the reason, its unfinished
    steps closed, and its slot released. Safe to run repeatedly and concurrently with
    the coordinator: every write is a checked transition.

    ``all_dead`` (the reason) says no process can still be running any run, as when an
    embedded runtime starts alone on its home: every unfinished run is swept now.
    """
    store, now = services.store, services.clock.now()
    swept = []
    for org_slug, run_id, reserved_at in store.active_reservations():
        run = store.get_run(org_slug, run_id)
        if run is None:
            if all_dead is None and (now - reserved_at).total_seconds() < ORPHAN_SECONDS:
                continue  # the dispatcher may be creating it right now
            reason, failed = "reservation without a run (its dispatcher died)", False
        elif run.status.terminal:
            reason, failed = f"run already {run.status.value}", False
        elif all_dead is not None:
            reason = all_dead
            failed = _fail_stale(services, run, reason, now)
        else:
            silent = (now - _last_activity(services, run, reserved_at)).total_seconds()
            allowed = _allowed_silence(services, run)
            if silent <= allowed:
                continue
            reason = f"no progress for {silent:.0f} s (allowed {allowed:.0f} s): presumed dead"
            failed = _fail_stale(services, run, reason, now)
        if store.release_concurrent(org_slug, run_id):
            swept.append(SweptSlot(org_slug, run_id, reason, failed))
            log.warning("released slot of %s/%s: %s", org_slug, run_id, reason)
    return swept


def as_dicts(items: list[BucketUsage] | list[SweptSlot]) -> list[dict[str, Any]]:
    return [asdict(item) for item in items]


def _last_activity(services: Services, run: Run, reserved_at: datetime) -> datetime:
    times = [reserved_at, run.created_at]
    times += [t.at for t in services.store.list_transitions(run.org_slug, run.run_id)]
    logs = services.store.list_logs(run.org_slug, run.run_id)
    if logs:
        times.append(logs[-1].at)
    return max(times)


def _allowed_silence(services: Services, run: Run) -> float:
    """How long the run's current work may legitimately stay quiet.

    Its running steps decide (timeout + lease grace + longest retry backoff); with
    none running (a lost message), the steps still to run.
    """
    grace = services.settings.lease_grace_seconds
    default = float(DEFAULT_STEP_SILENCE_SECONDS + grace)
    try:
        config: PipelineConfig = services.catalog.get(*run.pipeline_ref.split("/"))
    except PipelineError:
        return default
    running = {s.step_id for s in run.steps.values() if s.status is StepStatus.RUNNING}
    unfinished = {s.step_id for s in run.steps.values() if not s.status.terminal}
    current = [s for s in config.steps if s.step_id in (running or unfinished)]
    return max(
        (
            step.timeout_seconds
            + grace
            + (
                backoff_delay(step.retry.max_attempts - 1, step.retry.backoff_seconds)
                if step.retry.max_attempts > 1
                else 0.0
            )
            for step in current
        ),
        default=default,
    )


def _fail_stale(services: Services, run: Run, reason: str, now: datetime) -> bool:
    store = services.store
    try:
        moved = store.transition_run(
            run.org_slug, run.run_id, RunStatus.FAILED, "stale run swept", now, error=reason
        )
    except IllegalTransition:
        return False  # it finished meanwhile: only the slot is ours to free
    for step in store.get_steps(run.run_id).values():
        target = {StepStatus.PENDING: StepStatus.SKIPPED, StepStatus.RUNNING: StepStatus.FAILED}
        if step.status in target:
            try:
                store.transition_step(run.run_id, step.step_id, target[step.status], reason, now)
            except IllegalTransition:
                continue
    if moved:
        emit(services, EventType.PIPELINE_FAILURE, run, f"run failed: {reason}")
        meta_mirror.run_changed(services, run.org_slug, run.run_id)
    return moved
