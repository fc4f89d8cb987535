"""Dispatcher: authorise, validate, reserve quota, create the run, publish its first steps."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.domain.api_keys import api_key_matches
from shared.domain.config import PipelineConfig, coerce_parameters
from shared.domain.credentials import credential_provider
from shared.domain.dag import ready_steps
from shared.domain.errors import (
    Conflict,
    NotFound,
    PipelineError,
    QuotaExceeded,
    Unauthorized,
)
from shared.domain.messages import StepRequest
from shared.domain.models import Org, Run, StepRun
from shared.domain.notifications import EventType
from shared.domain.sql import validate_org_slug
from shared.domain.states import RunStatus, StepStatus
from shared.domain.templates import resolve
from shared.handlers import credentials, meta_mirror
from shared.handlers.notify import emit
from shared.handlers.services import Services
from shared.handlers.step_variables import step_variables

log = logging.getLogger(__name__)

# The lineage value for pipelines that need no provider credential.
INTERNAL_CREDENTIAL = credentials.INTERNAL_CREDENTIAL


@dataclass(frozen=True, slots=True)
class RunRequest:
    org_slug: str
    provider: str
    domain: str
    pipeline: str
    start_date: date
    end_date: date
    parameters: Mapping[str, Any] = field(default_factory=dict)
    trigger: str = "api"
    run_id: str | None = None  # set by callers that retry (Pub/Sub): makes dispatch idempotent


def authenticate(services: Services, org_slug: str, api_key: str | None) -> Org:
    """The org whose key this is. Unknown org and wrong key look the same (401)."""
    validate_org_slug(org_slug)
    org = services.store.get_org(org_slug)
    if org is None or not api_key_matches(api_key, org.api_key_hash):
        raise Unauthorized("invalid API key for this organization")
    return org


def dispatch_run(services: Services, org: Org, request: RunRequest) -> Run:
    store, clock = services.store, services.clock
    org.status.require_may_run()
    config = services.catalog.get(request.provider, request.domain, request.pipeline)
    parameters = coerce_parameters(config, request.parameters)
    run_id = request.run_id or str(uuid.uuid4())
    if request.run_id is not None and (existing := store.get_run(org.org_slug, run_id)):
        return existing  # a redelivered request: the run exists already
    # Before quota: a run that cannot authenticate to its provider must not use a slot.
    credential_id = credentials.run_credential_id(services, org.org_slug, config, request.pipeline)

    now = clock.now()
    decision = store.reserve_quota(org.org_slug, run_id, org.limits, now)
    if not decision.admitted:
        raise QuotaExceeded(
            decision.message, limit=decision.limit_hit, allowed=decision.limit, used=decision.used
        )
    run = Run(
        run_id=run_id,
        org_slug=org.org_slug,
        pipeline_ref=f"{request.provider}/{request.domain}/{request.pipeline}",
        pipeline_id=config.pipeline_id,
        # The vendor (openai for genai/payg/openai), as the product's clients filter by it.
        provider=credential_provider(config.provider, request.pipeline, services.catalog.providers),
        status=RunStatus.PENDING,
        trigger=request.trigger,
        start_date=request.start_date,
        end_date=request.end_date,
        credential_id=credential_id,
        parameters=dict(parameters),
        created_at=now,
        steps={s.step_id: StepRun(run_id=run_id, step_id=s.step_id) for s in config.steps},
    )
    try:
        store.create_run(run, now)
    except Conflict:
        # The same request delivered twice at once: the other delivery created the run.
        existing = store.get_run(org.org_slug, run_id)
        if existing is None:
            raise
        return existing
    try:
        store.transition_run(org.org_slug, run_id, RunStatus.VALIDATING, "quota reserved", now)
        _validate_templates(services, run, config)
    except PipelineError as exc:
        _fail_before_start(services, run, str(exc))
        raise
    store.transition_run(org.org_slug, run_id, RunStatus.RUNNING, "steps published", clock.now())
    emit(services, EventType.PIPELINE_STARTED, run, f"run started ({run.trigger})")
    publish_ready(services, run, config)
    started = store.get_run(org.org_slug, run_id)
    if started is None:  # pragma: no cover - the store just wrote it
        raise NotFound(f"run {run_id} vanished")
    meta_mirror.mirror_run(services, started)  # created: pending -> validating -> running
    return started


def publish_ready(
    services: Services,
    run: Run,
    config: PipelineConfig,
    *,
    after: str | None = None,
    statuses: Mapping[str, StepStatus] | None = None,
) -> list[str]:
    """Publish attempt 1 of every step whose dependencies have all succeeded.

    ``after`` narrows it to the dependents of the step that just finished: the
    other ready steps were published when they became ready (republishing them on
    every event would cost O(n^2) messages on a wide fan-out).
    """
    if statuses is None:  # ``statuses``: the caller's fresh read of the steps
        statuses = services.store.step_statuses(run.run_id)
    ready = ready_steps(config.steps, statuses, dependents_of=after)
    services.bus.publish_all([StepRequest(run.run_id, run.org_slug, s, 1) for s in ready])
    return ready


def _validate_templates(services: Services, run: Run, config: PipelineConfig) -> None:
    """Every step's templates must resolve before anything runs (fails the run in 'validating')."""
    variables = step_variables(services.settings, run)
    for step in config.steps:
        resolve(step.config, variables, path=f"steps.{step.step_id}.config")


def _fail_before_start(services: Services, run: Run, reason: str) -> None:
    store, now = services.store, services.clock.now()
    if store.get_run(run.org_slug, run.run_id) is not None:
        for step_id in run.steps:
            store.transition_step(run.run_id, step_id, StepStatus.SKIPPED, reason, now)
        if store.transition_run(
            run.org_slug, run.run_id, RunStatus.FAILED, reason, now, error=reason
        ):
            emit(services, EventType.PIPELINE_FAILURE, run, f"run failed before start: {reason}")
            meta_mirror.run_changed(services, run.org_slug, run.run_id)
    store.release_concurrent(run.org_slug, run.run_id)
