"""Coordinator: record an attempt's outcome once, retry or give up, advance the DAG, finish."""

from __future__ import annotations

import logging

from shared.domain.config import PipelineConfig
from shared.domain.dag import blocked_steps, dependents_and_their_deps
from shared.domain.errors import PipelineError
from shared.domain.messages import StepEvent, StepRequest
from shared.domain.models import Run, step_warnings
from shared.domain.notifications import EventType
from shared.domain.retry import backoff_delay, should_retry
from shared.domain.states import RunStatus, StepStatus
from shared.handlers import cost_alerts, meta_mirror
from shared.handlers.dispatch import publish_ready
from shared.handlers.notify import emit
from shared.handlers.services import Services

log = logging.getLogger(__name__)


def coordinate(services: Services, event: StepEvent) -> None:
    store, clock = services.store, services.clock
    run = store.get_run(event.org_slug, event.run_id, with_steps=False)
    if run is None:
        log.warning("event for unknown run %s: dropped", event.run_id)
        return
    config = services.catalog.get(*run.pipeline_ref.split("/"))
    step = config.step(event.step_id)
    now = clock.now()

    if event.succeeded:
        store.finish_step_attempt(
            run.run_id,
            step.step_id,
            event.attempt,
            StepStatus.SUCCEEDED,
            now,
            rows_written=event.rows_written,
            metrics=event.metrics,
        )
    elif not run.status.terminal and should_retry(
        event.attempt, step.retry.max_attempts, retryable=event.retryable
    ):
        recorded = store.finish_step_attempt(
            run.run_id, step.step_id, event.attempt, None, now, error=event.error
        )
        delay = backoff_delay(event.attempt, step.retry.backoff_seconds)
        if recorded:
            store.append_log(
                run.run_id,
                step.step_id,
                "WARNING",
                f"attempt {event.attempt} failed, retrying in {delay:g} s: {event.error}",
                now,
            )
        # Published even for a duplicate event: the first delivery may have died after
        # recording. A second request for the same attempt is refused by its claim.
        services.bus.publish(
            StepRequest(run.run_id, run.org_slug, step.step_id, event.attempt + 1),
            delay_seconds=delay,
        )
        return
    elif store.finish_step_attempt(
        run.run_id, step.step_id, event.attempt, StepStatus.FAILED, now, error=event.error
    ):
        message = f"step failed after {event.attempt} attempt(s): {event.error}"
        emit(services, EventType.STEP_FAILURE, run, message, step_id=step.step_id)
    # Advance even when the outcome was already recorded: a coordinator that died
    # between recording and publishing is finished by the redelivery.
    advance(services, run, config, finished_step=step.step_id, succeeded=event.succeeded)


def advance(
    services: Services,
    run: Run,
    config: PipelineConfig,
    *,
    finished_step: str,
    succeeded: bool,
) -> None:
    """After ``finished_step``'s outcome was written: publish what it made ready, skip
    what its failure blocked, finish the run once no step is left.

    Every read here follows this event's writes, so of concurrent finishers the last
    one sees every outcome and finishes the run.
    """
    store = services.store
    if run.status.terminal:
        # The coordinator that finished the run may have died before freeing its slot;
        # a redelivered event frees it (a no-op once freed), or the slot would leak.
        store.release_concurrent(run.org_slug, run.run_id)
        return
    if succeeded:
        # A success can only make its dependents ready: their statuses and their
        # dependencies' are all it reads (reading every step on every event made a
        # run of n steps cost O(n^2) document reads).
        wanted = dependents_and_their_deps(config.steps, finished_step)
        statuses = store.step_statuses(run.run_id, wanted)
    else:
        # A failure dooms every step downstream of it (all still pending: none could
        # start without it). This event's coordinator skips them all.
        statuses = store.step_statuses(run.run_id)
        for step_id in blocked_steps(config.steps, statuses):
            store.transition_step(  # False: another coordinator skipped it first
                run.run_id,
                step_id,
                StepStatus.SKIPPED,
                "an upstream step failed",
                services.clock.now(),
            )
            statuses[step_id] = StepStatus.SKIPPED
    if publish_ready(services, run, config, after=finished_step, statuses=statuses):
        return
    # Read after the skips above: a finisher that read before them saw a pending step
    # and left the run to us.
    if not store.has_unfinished_steps(run.run_id):
        finish_if_done(services, run)


def finish_if_done(services: Services, run: Run) -> None:
    store, now = services.store, services.clock.now()
    steps = store.get_steps(run.run_id)
    if not all(s.status.terminal for s in steps.values()):
        return
    failed = [s for s in steps.values() if s.status is StepStatus.FAILED]
    if failed:
        # "{processor}: {error}", the product's wording; the step's own error names it too.
        processors = _processor_names(services, run)
        error = "; ".join(f"{processors.get(s.step_id, s.step_id)}: {s.error}" for s in failed)
        moved = store.transition_run(
            run.org_slug, run.run_id, RunStatus.FAILED, "a step failed", now, error=error
        )
    else:
        moved = store.transition_run(
            run.org_slug, run.run_id, RunStatus.COMPLETED, "all steps succeeded", now
        )
    store.release_concurrent(run.org_slug, run.run_id)
    if moved:
        log.info("run %s finished", run.run_id)
        meta_mirror.run_changed(services, run.org_slug, run.run_id)
        if failed:
            emit(services, EventType.PIPELINE_FAILURE, run, f"run failed: {error}")
        else:
            warnings = step_warnings(steps.values())
            said = f" with warnings: {'; '.join(warnings)}" if warnings else ""
            emit(services, EventType.PIPELINE_SUCCESS, run, f"run completed{said}")
            cost_alerts.after_run(services, run)  # thresholds and anomalies on its days


def _processor_names(services: Services, run: Run) -> dict[str, str]:
    """step_id -> its ps_type, from the run's pipeline (empty if it no longer loads)."""
    try:
        config = services.catalog.get(*run.pipeline_ref.split("/"))
    except PipelineError:
        return {}
    return {step.step_id: step.ps_type for step in config.steps}
