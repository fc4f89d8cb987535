from __future__ import annotations

import pytest

from shared.domain.errors import IllegalTransition
from shared.domain.states import (
    RUN_TRANSITIONS,
    STEP_TRANSITIONS,
    RunStatus,
    StepStatus,
    check_run_transition,
    check_step_transition,
)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (RunStatus.PENDING, RunStatus.VALIDATING),
        (RunStatus.VALIDATING, RunStatus.RUNNING),
        (RunStatus.RUNNING, RunStatus.COMPLETED),
        (RunStatus.RUNNING, RunStatus.FAILED),
        (RunStatus.RUNNING, RunStatus.CANCELLED),
        (RunStatus.VALIDATING, RunStatus.FAILED),
        (RunStatus.PENDING, RunStatus.CANCELLED),
    ],
)
def test_legal_run_transitions(current: RunStatus, target: RunStatus) -> None:
    check_run_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        pytest.param(RunStatus.PENDING, RunStatus.RUNNING, id="unvalidated"),
        pytest.param(RunStatus.PENDING, RunStatus.COMPLETED, id="never ran"),
        pytest.param(RunStatus.COMPLETED, RunStatus.RUNNING, id="completed is final"),
        pytest.param(RunStatus.FAILED, RunStatus.COMPLETED, id="failed is final"),
        pytest.param(RunStatus.CANCELLED, RunStatus.RUNNING, id="cancelled is final"),
        pytest.param(RunStatus.RUNNING, RunStatus.PENDING, id="backwards"),
    ],
)
def test_illegal_run_transitions_are_refused(current: RunStatus, target: RunStatus) -> None:
    with pytest.raises(IllegalTransition, match=f"from {current.value} to {target.value}"):
        check_run_transition(current, target)


def test_terminal_states_have_no_way_out() -> None:
    for status in RunStatus:
        assert (not RUN_TRANSITIONS[status]) == status.terminal
    for step_status in StepStatus:
        assert (not STEP_TRANSITIONS[step_status]) == step_status.terminal


@pytest.mark.parametrize(
    ("current", "target", "legal"),
    [
        (StepStatus.PENDING, StepStatus.RUNNING, True),
        (StepStatus.PENDING, StepStatus.SKIPPED, True),
        (StepStatus.RUNNING, StepStatus.SUCCEEDED, True),
        (StepStatus.RUNNING, StepStatus.FAILED, True),
        (StepStatus.RUNNING, StepStatus.CANCELLED, True),
        (StepStatus.PENDING, StepStatus.SUCCEEDED, False),
        (StepStatus.SUCCEEDED, StepStatus.RUNNING, False),
        (StepStatus.SKIPPED, StepStatus.RUNNING, False),
    ],
)
def test_step_transitions(current: StepStatus, target: StepStatus, legal: bool) -> None:
    if legal:
        check_step_transition(current, target)
    else:
        with pytest.raises(IllegalTransition):
            check_step_transition(current, target)
