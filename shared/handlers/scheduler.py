"""Scheduler: schedules per org and pipeline, and the tick that fires the due ones once.

A firing is the pair (schedule_id, fire_time). The store lets exactly one tick claim
it, and the run id is derived from it, so even a dispatch that is retried (quota was
full, the process died) creates one run. Cloud Scheduler calls :func:`tick`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.domain.bodies import bool_field, pipeline_ref, reject_unknown
from shared.domain.config import coerce_parameters
from shared.domain.credentials import credential_provider
from shared.domain.errors import (
    BadRequest,
    DependencyUnavailable,
    NotFound,
    PipelineError,
    QuotaExceeded,
    shown,
)
from shared.domain.run_window import parse_run_window
from shared.domain.schedules import (
    FireStatus,
    Schedule,
    ScheduleFire,
    derived_run_id,
    next_fire,
    validate_cron,
)
from shared.domain.sql import validate_org_slug
from shared.handlers import meta_mirror
from shared.handlers.dispatch import RunRequest, dispatch_run
from shared.handlers.services import Services
from shared.ports import ScheduleStore

log = logging.getLogger(__name__)

# The product's clients say cron_expression / is_enabled (CLIENT_CONTRACT.md); this API
# has said cron / enabled: both are taken, one of each pair at a time.
ALIASES = {"cron_expression": "cron", "is_enabled": "enabled"}
CREATE_KEYS = frozenset({"org_slug", "pipeline", "cron", "enabled", "parameters", *ALIASES})
UPDATE_KEYS = frozenset({"cron", "enabled", "parameters", *ALIASES})


def public(services: Services, schedule: Schedule) -> dict[str, Any]:
    """The schedule as the API shows it, its provider the vendor (as runs name it)."""
    path_provider, _, pipeline = schedule.pipeline_ref.split("/")
    vendor = credential_provider(path_provider, pipeline, services.catalog.providers)
    return schedule.to_public(provider=vendor)


def _canonical(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` with the clients' names mapped to this API's; both of a pair refused."""
    out = dict(body)
    for alias, name in ALIASES.items():
        if alias in out:
            if name in out:
                raise BadRequest(f"give {name} or {alias}, not both", field=alias)
            out[name] = out.pop(alias)
    return out


def schedule_store(services: Services) -> ScheduleStore:
    if services.schedules is None:
        raise DependencyUnavailable("this runtime has no schedule store")
    return services.schedules


def create_schedule(services: Services, body: Mapping[str, Any]) -> Schedule:
    """A schedule for an org's pipeline; cron defaults to the pipeline's ``schedule``."""
    reject_unknown(body, CREATE_KEYS)
    body = _canonical(body)
    org_slug = body.get("org_slug")
    if not isinstance(org_slug, str):
        raise BadRequest("org_slug is required", field="org_slug")
    validate_org_slug(org_slug)
    if services.store.get_org(org_slug) is None:
        raise NotFound(f"organization {shown(org_slug, quote=False)} not found", org=org_slug)
    parts = pipeline_ref(body)
    ref = "/".join(parts)
    config = services.catalog.get(*parts)
    cron = body.get("cron", config.schedule)
    if cron is None:
        raise BadRequest(
            f"pipeline {ref} has no default schedule: give a cron expression", field="cron"
        )
    enabled = bool_field(body, "enabled", default=True)
    parameters = _parameters(services, ref, body.get("parameters", {}))
    now = services.clock.now()
    schedule = Schedule(
        schedule_id=f"sch_{uuid.uuid4().hex[:16]}",
        org_slug=org_slug,
        pipeline_ref=ref,
        cron=validate_cron(cron),
        enabled=enabled,
        parameters=parameters,
        created_at=now,
        updated_at=now,
        next_fire_at=next_fire(cron, now) if enabled else None,
    )
    schedule_store(services).create_schedule(schedule)
    meta_mirror.mirror_schedule(services, schedule)
    return schedule


def update_schedule(services: Services, schedule_id: str, body: Mapping[str, Any]) -> Schedule:
    reject_unknown(body, UPDATE_KEYS)
    body = _canonical(body)
    store = schedule_store(services)
    schedule = get_schedule(services, schedule_id)
    now = services.clock.now()
    if "cron" in body:
        schedule.cron = validate_cron(body["cron"])
    if "parameters" in body:
        schedule.parameters = _parameters(services, schedule.pipeline_ref, body["parameters"])
    schedule.enabled = bool_field(body, "enabled", default=schedule.enabled)
    # A new cron or re-enabling starts from now: missed times while off do not fire.
    if not schedule.enabled:
        schedule.next_fire_at = None
    elif "cron" in body or schedule.next_fire_at is None:
        schedule.next_fire_at = next_fire(schedule.cron, now)
    schedule.updated_at = now
    store.update_schedule(schedule)
    meta_mirror.mirror_schedule(services, schedule)
    return schedule


def get_schedule(services: Services, schedule_id: str) -> Schedule:
    schedule = schedule_store(services).get_schedule(schedule_id)
    if schedule is None:
        raise NotFound(
            f"schedule {shown(schedule_id, quote=False)} not found", schedule_id=schedule_id
        )
    return schedule


def list_schedules(services: Services, org_slug: str | None = None) -> list[Schedule]:
    if org_slug is not None:
        validate_org_slug(org_slug)
        if services.store.get_org(org_slug) is None:
            raise NotFound(f"organization {shown(org_slug, quote=False)} not found", org=org_slug)
    return schedule_store(services).list_schedules(org_slug)


def queue(services: Services, org_slug: str | None = None) -> dict[str, Any]:
    """What a tick would do now, and the firings waiting to be dispatched."""
    store = schedule_store(services)
    return {
        "due": [public(services, s) for s in store.due_schedules(services.clock.now())],
        # every schedule, as the product's clients read the queue (PipelineSchedule[])
        "schedules": [public(services, s) for s in store.list_schedules(org_slug)],
        "queued": [f.to_public() for f in store.list_fires(status=FireStatus.QUEUED)],
    }


def tick(services: Services) -> list[ScheduleFire]:
    """Claim every due schedule's firing and dispatch it; what this tick fired.

    A schedule that missed several times (the scheduler was down) fires once, for
    its latest missed time, and moves to its next time after now.
    """
    store, now = schedule_store(services), services.clock.now()
    fired = []
    for schedule in store.due_schedules(now):
        assert schedule.next_fire_at is not None  # due implies a next time
        fire_time = schedule.next_fire_at
        nxt = next_fire(schedule.cron, max(now, fire_time))
        if _claim(services, schedule, fire_time, nxt):
            fired.append(_dispatch(services, schedule.schedule_id, fire_time))
    return fired


def trigger(services: Services, schedule_id: str) -> ScheduleFire | None:
    """Fire one schedule now, whatever its cron. The firing time is the current minute,
    so a double-clicked trigger fires once; returns None when this minute already fired.
    """
    schedule = get_schedule(services, schedule_id)
    fire_time = services.clock.now().replace(second=0, microsecond=0)
    if not _claim(services, schedule, fire_time, schedule.next_fire_at):
        return None
    return _dispatch(services, schedule_id, fire_time)


def process_queue(services: Services) -> list[ScheduleFire]:
    """Dispatch every queued firing again (those that met a full quota, or a crash)."""
    store = schedule_store(services)
    return [
        _dispatch(services, fire.schedule_id, fire.fire_time)
        for fire in store.list_fires(status=FireStatus.QUEUED)
    ]


# -- internals ---------------------------------------------------------------------


def _claim(
    services: Services, schedule: Schedule, fire_time: datetime, nxt: datetime | None
) -> bool:
    run_id = derived_run_id("schedule", schedule.schedule_id, fire_time.isoformat())
    return schedule_store(services).claim_fire(
        schedule.schedule_id, fire_time, run_id, nxt, services.clock.now()
    )


def _dispatch(services: Services, schedule_id: str, fire_time: datetime) -> ScheduleFire:
    store = schedule_store(services)
    [fire] = [
        f
        for f in store.list_fires(schedule_id=schedule_id, limit=10_000)
        if f.fire_time == fire_time
    ]
    if fire.status is not FireStatus.QUEUED:
        return fire
    schedule = get_schedule(services, schedule_id)
    if fire.attempts == 0:  # its first dispatch: the claim just moved last/next_run_at
        meta_mirror.mirror_schedule(services, schedule)
    status, error = FireStatus.DISPATCHED, None
    org = services.store.get_org(fire.org_slug)
    try:
        if org is None:
            raise NotFound(f"organization {fire.org_slug} no longer exists")
        provider, domain, pipeline = fire.pipeline_ref.split("/")
        start, end = parse_run_window({}, fire_time.date())  # the day before the firing
        dispatch_run(
            services,
            org,
            RunRequest(
                org_slug=org.org_slug,
                provider=provider,
                domain=domain,
                pipeline=pipeline,
                start_date=start,
                end_date=end,
                parameters=schedule.parameters,
                trigger="schedule",
                run_id=fire.run_id,
            ),
        )
    except (QuotaExceeded, DependencyUnavailable) as exc:
        status, error = FireStatus.QUEUED, exc.message  # stays queued: process-queue retries
    except PipelineError as exc:
        status, error = FireStatus.FAILED, exc.message
    store.settle_fire(schedule_id, fire_time, status, services.clock.now(), error=error)
    log.info("schedule %s fire %s: %s %s", schedule_id, fire_time, status.value, error or "")
    [settled] = [
        f
        for f in store.list_fires(schedule_id=schedule_id, limit=10_000)
        if f.fire_time == fire_time
    ]
    return settled


def _parameters(services: Services, ref: str, given: Any) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise BadRequest("parameters must be an object", field="parameters")
    coerce_parameters(services.catalog.get(*ref.split("/")), given)  # 400 naming the field
    return dict(given)
