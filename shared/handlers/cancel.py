"""Cancelling a run (API and CLI), and the cheap check a running step polls to notice it."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from shared.domain.errors import Conflict, IllegalTransition, NotFound, shown
from shared.domain.models import Run
from shared.domain.states import RunStatus, StepStatus
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
    target = {StepStatus.PENDING: StepStatus.SKIPPED, StepStatus.RUNNING: StepStatus.CANCELLED}
    for step in store.get_steps(run_id).values():
        if step.status in target:
            # IllegalTransition: the step finished meanwhile, and its outcome stands.
            with contextlib.suppress(IllegalTransition):
                store.transition_step(
                    run_id, step.step_id, target[step.status], text, services.clock.now()
                )
    store.release_concurrent(org_slug, run_id)
    log.info("run %s cancelled: %s", run_id, reason)
    cancelled = store.get_run(org_slug, run_id)
    assert cancelled is not None
    return cancelled


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
