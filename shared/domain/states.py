"""Run and step state machines: the allowed transitions, nothing else.

Stores call :func:`check_run_transition` / :func:`check_step_transition` before
writing, so an illegal move is refused the same way in every adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from shared.domain.errors import IllegalTransition


class _Status(StrEnum):
    """A state of one of the two machines below."""

    @property
    def terminal(self) -> bool:
        """No transition leaves it: the run or step is finished."""
        return not _TRANSITIONS[type(self)][self]


class RunStatus(_Status):
    PENDING = "pending"
    VALIDATING = "validating"
    RUNNING = "running"  # extracting
    PROCESSING = "processing"  # transforming: a step of a transform processor has started
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StepStatus(_Status):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.PENDING: frozenset({RunStatus.VALIDATING, RunStatus.FAILED, RunStatus.CANCELLED}),
    RunStatus.VALIDATING: frozenset({RunStatus.RUNNING, RunStatus.FAILED, RunStatus.CANCELLED}),
    RunStatus.RUNNING: frozenset(
        {RunStatus.PROCESSING, RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED}
    ),
    RunStatus.PROCESSING: frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED}),
    RunStatus.COMPLETED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}

STEP_TRANSITIONS: dict[StepStatus, frozenset[StepStatus]] = {
    StepStatus.PENDING: frozenset({StepStatus.RUNNING, StepStatus.SKIPPED, StepStatus.CANCELLED}),
    StepStatus.RUNNING: frozenset({StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.CANCELLED}),
    StepStatus.SUCCEEDED: frozenset(),
    StepStatus.FAILED: frozenset(),
    StepStatus.SKIPPED: frozenset(),
    StepStatus.CANCELLED: frozenset(),
}

_TRANSITIONS: dict[type[_Status], Mapping[Any, frozenset[Any]]] = {
    RunStatus: RUN_TRANSITIONS,
    StepStatus: STEP_TRANSITIONS,
}


def check_run_transition(current: RunStatus, target: RunStatus) -> None:
    _check("run", RUN_TRANSITIONS, current, target)


def check_step_transition(current: StepStatus, target: StepStatus) -> None:
    _check("step", STEP_TRANSITIONS, current, target)


def _check(
    what: str, transitions: Mapping[Any, frozenset[Any]], current: _Status, target: _Status
) -> None:
    if target not in transitions[current]:
        raise IllegalTransition(
            f"{what} cannot go from {current.value} to {target.value}",
            current=current.value,
            target=target.value,
        )
