"""Step runner: one message = one step attempt. Claims it, runs the processor, reports."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timedelta
from enum import Enum

from shared.adapters.outages import classify
from shared.domain.credentials import Credential, redact
from shared.domain.errors import IllegalTransition
from shared.domain.messages import StepEvent, StepRequest
from shared.domain.models import Run, StepRun
from shared.domain.states import RunStatus, StepStatus
from shared.domain.templates import resolve
from shared.handlers import meta_mirror
from shared.handlers.cancel import stop_check
from shared.handlers.credentials import load_credential
from shared.handlers.services import Services
from shared.handlers.step_variables import step_variables
from shared.processors import PROCESSORS, StepContext, StepResult
from shared.processors.base import phase_of

log = logging.getLogger(__name__)

# Processors run here so the runner can stop waiting at the step's timeout. Threads
# cannot be killed: a timed-out processor sees should_stop() turn True and must return.
_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="processor")


class Dropped(Enum):
    """Why a step request was not run. Only LEASE_HELD may need the message again."""

    UNKNOWN_RUN = "unknown run"
    RUN_FINISHED = "run finished"
    TAKEN = "attempt finished or superseded"
    LEASE_HELD = "attempt held by a live lease"


def run_step(services: Services, request: StepRequest) -> StepEvent | Dropped:
    """Run one attempt; returns the published event, or why the message was dropped."""
    store, clock = services.store, services.clock
    run = store.get_run(request.org_slug, request.run_id, with_steps=False)
    if run is None:
        log.warning("step request for unknown run %s: dropped", request.run_id)
        return Dropped.UNKNOWN_RUN
    if run.status.terminal:
        log.info("run %s is %s: step %s dropped", run.run_id, run.status, request.step_id)
        return Dropped.RUN_FINISHED
    config = services.catalog.get(*run.pipeline_ref.split("/"))
    step = config.step(request.step_id)
    now = clock.now()
    grace = services.settings.lease_grace_seconds  # a dead runner's lease outlives its timeout
    lease_until = now + timedelta(seconds=step.timeout_seconds + grace)
    started = f"attempt {request.attempt} started ({step.ps_type})"  # logged with the claim
    if (
        store.claim_step_attempt(
            run.run_id, step.step_id, request.attempt, lease_until, now, note=started
        )
        is None
    ):
        current = store.get_steps(run.run_id).get(step.step_id)
        # Judged at the claim's own time: judged at a later now, a lease that expired in
        # between reads as free, and the message is acknowledged with nobody left to run it.
        dropped = Dropped.LEASE_HELD if lease_live(current, request.attempt, now) else Dropped.TAKEN
        log.info("%s/%s attempt %d: %s", run.run_id, step.step_id, request.attempt, dropped.value)
        return dropped

    known = PROCESSORS.get(step.ps_type)  # an unknown one fails below, as a step failure
    if known is not None and phase_of(known) == "transform":
        _enter_processing(services, run, step.step_id, now)

    # A careless processor may put the decrypted key in a log line, an exception or its
    # metrics: everything leaving the step is redacted of the secrets it was handed.
    revealed: list[str] = []

    def credential() -> Credential:
        loaded = load_credential(
            services, run.org_slug, config, run.pipeline_ref.split("/")[2], run.credential_id
        )
        revealed.append(loaded.api_key.reveal())
        return loaded

    def note(message: str) -> None:
        store.append_log(run.run_id, step.step_id, "INFO", redact(message, revealed), clock.now())

    outcome = functools.partial(
        StepEvent, run.run_id, run.org_slug, step.step_id, request.attempt
    )  # the attempt's event, either way
    stop = threading.Event()
    try:
        variables = step_variables(services.settings, run)
        resolved = resolve(step.config, variables, path="config")
        processor = PROCESSORS[step.ps_type]
        ctx = StepContext(
            run=run,
            step_id=step.step_id,
            config=resolved,
            variables=variables,
            warehouse=services.warehouse,
            log=note,
            should_stop=stop_check(services, run, stop),
            source_system=config.provider,
            credential=credential,
        )
        result = _run_with_timeout(lambda: processor.run(ctx), step.timeout_seconds, stop)
        event = outcome(
            succeeded=True,
            rows_written=result.rows_written,
            metrics=redact(result.metrics, revealed),
        )
        note(f"attempt {request.attempt} succeeded: {result.rows_written} rows")
    except Exception as exc:  # every failure becomes an event; the coordinator decides
        failure = classify(exc)
        error = redact(failure.message, revealed)
        store.append_log(run.run_id, step.step_id, "ERROR", error, clock.now())
        event = outcome(
            succeeded=False,
            error=error,
            retryable=failure.retryable,
        )
    services.bus.publish(event)
    return event


def _enter_processing(services: Services, run: Run, step_id: str, at: datetime) -> None:
    """The run's transformation phase began (once: later transform steps find it there)."""
    reason = f"transformation started ({step_id})"
    # IllegalTransition: the run ended meanwhile (cancelled); the step will see it and stop.
    with contextlib.suppress(IllegalTransition):
        if services.store.transition_run(
            run.org_slug, run.run_id, RunStatus.PROCESSING, reason, at
        ):
            meta_mirror.run_changed(services, run.org_slug, run.run_id)


def lease_live(step: StepRun | None, attempt: int, at: datetime) -> bool:
    """Whether a runner's live lease holds ``attempt`` of ``step`` at ``at`` (a recorded
    outcome clears the lease)."""
    return (
        step is not None
        and step.status is StepStatus.RUNNING
        and step.attempt == attempt
        and step.lease_until is not None
        and step.lease_until > at
    )


def _run_with_timeout(
    work: Callable[[], StepResult], timeout_seconds: int, stop: threading.Event
) -> StepResult:
    future: Future[StepResult] = _executor.submit(work)
    try:
        return future.result(timeout=timeout_seconds)
    except FutureTimeout:
        stop.set()
        raise TimeoutError(f"Pipeline execution timed out after {timeout_seconds}s") from None
