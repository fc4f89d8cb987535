"""Backfill: a date range as one run per day, under its own concurrency cap.

The backfill record keeps, per day, the run dispatched for it. :func:`advance`
dispatches the next days while fewer than ``max_concurrent`` of its runs are in
flight (and the org's own quota admits them); it is called when the backfill is
created, by the scheduler's process-queue tick, and in a loop by the CLI. Run ids
are derived from (backfill, day), so a repeated or concurrent advance dispatches
each day once.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shared.domain.bodies import reject_unknown
from shared.domain.config import coerce_parameters
from shared.domain.errors import (
    BadRequest,
    DependencyUnavailable,
    Forbidden,
    NotFound,
    PipelineError,
    QuotaExceeded,
    shown,
)
from shared.domain.models import Org, Run
from shared.domain.run_window import parse_run_window
from shared.domain.schedules import Backfill, ReprocessPolicy, derived_run_id
from shared.domain.states import RunStatus
from shared.handlers.dispatch import RunRequest, dispatch_run
from shared.handlers.services import Services
from shared.ports import BackfillStore

log = logging.getLogger(__name__)

MAX_BACKFILL_DAYS = 366
DEFAULT_MAX_CONCURRENT = 3
BODY_KEYS = frozenset({"start_date", "end_date", "reprocess", "max_concurrent", "parameters"})
_HISTORY_SCAN = 10_000  # runs read to find which days already ran


@dataclass(frozen=True, slots=True)
class Progress:
    backfill: Backfill
    runs: dict[date, Run]  # the dispatched days' runs
    blocked: str | None = None  # why the last advance could not dispatch more

    @property
    def done(self) -> bool:
        return all(
            run_id is not None and day in self.runs and self.runs[day].status.terminal
            for day, run_id in self.backfill.days.items()
        )

    def counts(self) -> dict[str, int]:
        counts = Counter(run.status.value for run in self.runs.values())
        return {
            "days": len(self.backfill.days) + len(self.backfill.skipped),
            "skipped": len(self.backfill.skipped),
            "to_dispatch": sum(1 for r in self.backfill.days.values() if r is None),
            "in_flight": sum(1 for r in self.runs.values() if not r.status.terminal),
            **{s.value: counts.get(s.value, 0) for s in RunStatus if s.terminal},
        }

    def to_public(self) -> dict[str, Any]:
        bf = self.backfill
        return {
            "backfill_id": bf.backfill_id,
            "org_slug": bf.org_slug,
            "pipeline": bf.pipeline_ref,
            "start_date": bf.start_date.isoformat(),
            "end_date": bf.end_date.isoformat(),
            "reprocess": bf.policy.value,
            "max_concurrent": bf.max_concurrent,
            "parameters": bf.parameters,
            "created_at": bf.created_at.isoformat(),
            "done": self.done,
            "blocked": self.blocked,
            "counts": self.counts(),
            "days": [
                {
                    "date": day.isoformat(),
                    "run_id": run_id,
                    "status": self.runs[day].status.value if day in self.runs else "to_dispatch",
                }
                for day, run_id in sorted(bf.days.items())
            ],
            "skipped_days": [d.isoformat() for d in bf.skipped],
        }


def backfill_store(services: Services) -> BackfillStore:
    if services.backfills is None:
        raise DependencyUnavailable("this runtime has no backfill store")
    return services.backfills


def start_backfill(
    services: Services, org: Org, provider: str, domain: str, pipeline: str, body: Mapping[str, Any]
) -> Progress:
    """Validate everything, record the plan (which days run), and dispatch the first days."""
    reject_unknown(body, BODY_KEYS)
    org.status.require_may_run()
    config = services.catalog.get(provider, domain, pipeline)
    for name in ("start_date", "end_date"):
        if name not in body:
            raise BadRequest(f"{name} is required", field=name)
    start, _ = parse_run_window({"date": body["start_date"]}, services.clock.now().date())
    end, _ = parse_run_window({"date": body["end_date"]}, services.clock.now().date())
    if start > end:
        raise BadRequest("start_date is after end_date", field="start_date")
    if (end - start).days + 1 > MAX_BACKFILL_DAYS:
        raise BadRequest(f"a backfill covers at most {MAX_BACKFILL_DAYS} days", field="end_date")
    try:
        policy = ReprocessPolicy(body.get("reprocess", ReprocessPolicy.NONE.value))
    except ValueError:
        choices = ", ".join(p.value for p in ReprocessPolicy)
        raise BadRequest(f"reprocess must be one of {choices}", field="reprocess") from None
    cap = body.get("max_concurrent", min(DEFAULT_MAX_CONCURRENT, org.limits.concurrent))
    if not isinstance(cap, int) or isinstance(cap, bool) or not 1 <= cap <= org.limits.concurrent:
        raise BadRequest(
            f"max_concurrent must be an integer from 1 to {org.limits.concurrent} "
            f"(the {org.plan} plan's concurrent limit)",
            field="max_concurrent",
        )
    parameters = body.get("parameters", {})
    if not isinstance(parameters, dict):
        raise BadRequest("parameters must be an object", field="parameters")
    coerce_parameters(config, parameters)  # 400 naming the parameter

    ref = f"{provider}/{domain}/{pipeline}"
    latest = _latest_run_per_day(services, org.org_slug, config.provider, ref)
    days: dict[date, str | None] = {}
    skipped: list[date] = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        if _wanted(policy, latest.get(day)):
            days[day] = None
        else:
            skipped.append(day)
    backfill = Backfill(
        backfill_id=f"bf_{uuid.uuid4().hex[:16]}",
        org_slug=org.org_slug,
        pipeline_ref=ref,
        start_date=start,
        end_date=end,
        policy=policy,
        max_concurrent=cap,
        parameters=dict(parameters),
        created_at=services.clock.now(),
        days=days,
        skipped=skipped,
    )
    backfill_store(services).create_backfill(backfill)
    return advance(services, org.org_slug, backfill.backfill_id)


def progress(services: Services, org_slug: str, backfill_id: str) -> Progress:
    backfill = backfill_store(services).get_backfill(org_slug, backfill_id)
    if backfill is None:
        raise NotFound(
            f"backfill {shown(backfill_id, quote=False)} not found", backfill_id=backfill_id
        )
    runs = {}
    for day, run_id in backfill.days.items():
        if run_id is not None and (run := services.store.get_run(org_slug, run_id)):
            runs[day] = run
    return Progress(backfill, runs)


def advance(services: Services, org_slug: str, backfill_id: str) -> Progress:
    """Dispatch the next days while the backfill's cap (and the org's quota) allow."""
    current = progress(services, org_slug, backfill_id)
    backfill = current.backfill
    room = backfill.max_concurrent - current.counts()["in_flight"]
    org = services.store.get_org(org_slug)
    blocked = None
    provider, domain, pipeline = backfill.pipeline_ref.split("/")
    for day in sorted(d for d, r in backfill.days.items() if r is None):
        if room <= 0 or org is None:
            break
        run_id = derived_run_id("backfill", backfill_id, day.isoformat())
        request = RunRequest(
            org_slug, provider, domain, pipeline, day, day, backfill.parameters, "backfill", run_id
        )
        try:
            dispatch_run(services, org, request)
        except (QuotaExceeded, Forbidden, DependencyUnavailable) as exc:
            blocked = exc.message  # the org's own limits come first: try again later
            break
        except PipelineError:
            if services.store.get_run(org_slug, run_id) is None:
                raise
            # the run exists and failed at validation: the day has its (failed) run
        backfill_store(services).set_day_run(backfill_id, day, run_id)
        room -= 1
    after = progress(services, org_slug, backfill_id)
    return Progress(after.backfill, after.runs, blocked)


def advance_open(services: Services) -> list[Progress]:
    """Advance every unfinished backfill of every org (the process-queue tick)."""
    if services.backfills is None:
        return []
    advanced = []
    for org in services.store.list_orgs():
        for backfill in services.backfills.list_backfills(org.org_slug, limit=1000):
            if any(r is None for r in backfill.days.values()):
                advanced.append(advance(services, org.org_slug, backfill.backfill_id))
    return advanced


def _latest_run_per_day(
    services: Services, org_slug: str, provider: str, ref: str
) -> dict[date, Run]:
    latest: dict[date, Run] = {}
    for run in services.store.list_runs(org_slug, provider=provider, limit=_HISTORY_SCAN):
        if run.pipeline_ref == ref and run.start_date == run.end_date:
            latest.setdefault(run.start_date, run)  # newest first: the first seen is latest
    return latest


def _wanted(policy: ReprocessPolicy, latest: Run | None) -> bool:
    if policy is ReprocessPolicy.ALL:
        return True
    redo = latest is not None and latest.status in (RunStatus.FAILED, RunStatus.CANCELLED)
    if policy is ReprocessPolicy.FAILED:
        return redo
    # NONE: never reprocess a completed day, nor start a second run of one in flight.
    return latest is None or redo
