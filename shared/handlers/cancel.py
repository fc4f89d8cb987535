"""Cancelling a run (API and CLI), and the cheap check a running step polls to notice it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from shared.domain.errors import Conflict, IllegalTransition, NotFound, shown
from shared.domain.models import Run
from shared.domain.states import RunStatus, StepStatus
from shared.handlers import meta_mirror
from shared.handlers.services import Services

log = logging.getLogger(__name__)

CANCEL_POLL_SECONDS = 1.0  # a running step notices a cancel within about this long


def cancel_run(services: Services, org_slug: str, run_id: str, *, reason: str) -> Run:
    """Cancel a run of ``org_slug``: 404 if absent or another org's, 409 if finished.

    The run moves first, so the runner drops any step request that arrives later;
    then every unfinished step is closed (pending -> skipped, running -> cancelled,
    whose processor sees should_stop() and whose late outcome the store ignores)
    and the concurrent slot is released.
    """
    store = services.store
    run = store.get_run(org_slug, run_id)
    if run is None:
        raise NotFound(f"run {shown(run_id, quote=False)} not found", run_id=run_id)
    if run.status.terminal:
        raise Conflict(f"run {run_id} is already {run.status.value}", status=run.status.value)
    text = f"cancelled: {reason}"
    try:
        store.transition_run(org_slug, run_id, RunStatus.CANCELLED, text, services.clock.now())
    except IllegalTransition:
        # It finished between our read and our write.
        current = store.get_run(org_slug, run_id)
        status = current.status.value if current else "gone"
        raise Conflict(f"run {run_id} is already {status}", status=status) from None
    for step in store.get_steps(run_id).values():
        _close_step(services, run_id, step.step_id, step.status, text)
    store.release_concurrent(org_slug, run_id)
    log.info("run %s cancelled: %s", run_id, reason)
    cancelled = store.get_run(org_slug, run_id)
    assert cancelled is not None
    meta_mirror.mirror_run(services, cancelled)
    return cancelled


_CLOSED_AS = {StepStatus.PENDING: StepStatus.SKIPPED, StepStatus.RUNNING: StepStatus.CANCELLED}


def _close_step(
    services: Services, run_id: str, step_id: str, status: StepStatus, reason: str
) -> None:
    """Pending -> skipped, running -> cancelled; a finished step's outcome stands.

    A step moves on while we look (a runner claims it: pending -> running), so a refused
    move is retried from the step's new status; a step only moves forward, so this ends.
    """
    while status in _CLOSED_AS:
        try:
            services.store.transition_step(
                run_id, step_id, _CLOSED_AS[status], reason, services.clock.now()
            )
            return
        except IllegalTransition:
            moved = services.store.get_steps(run_id)[step_id].status
            if moved == status:
                raise  # refused for another reason: not ours to swallow
            status = moved


def stop_check(services: Services, run: Run, timed_out: threading.Event) -> Callable[[], bool]:
    """StepContext.should_stop: True once the step timed out or its run ended (cancelled).

    Processors may call it in a tight loop, so the store is read at most once per
    CANCEL_POLL_SECONDS; the answer sticks once True.
    """
    checked = time.monotonic()
    cancelled = False
    lock = threading.Lock()

    def should_stop() -> bool:
        nonlocal checked, cancelled
        if timed_out.is_set():
            return True
        with lock:
            if not cancelled and time.monotonic() - checked >= CANCEL_POLL_SECONDS:
                checked = time.monotonic()
                current = services.store.get_run(run.org_slug, run.run_id, with_steps=False)
                # Any end counts: cancelled, or failed by the stale-slot sweeper.
                cancelled = current is None or current.status.terminal
            return cancelled

    return should_stop
