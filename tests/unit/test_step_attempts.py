"""The claim / lease / finish decisions both state stores apply (pure, no store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain import step_attempts
from shared.domain.errors import IllegalTransition
from shared.domain.models import StepRun
from shared.domain.states import RunStatus, StepStatus
from shared.domain.step_attempts import Move, StoredRun, StoredStep

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
LEASE = T0 + timedelta(minutes=10)


def _running(attempt: int, *, lease: datetime | None = LEASE, outcome: int = 0) -> StoredStep:
    step = StepRun("r", "s", StepStatus.RUNNING, attempt, lease, started_at=T0)
    return StoredStep(step, outcome)


def test_a_pending_step_is_claimed_with_its_transition_and_note() -> None:
    change = step_attempts.claim(StoredStep(StepRun("r", "s")), 1, LEASE, T0, "attempt 1 started")
    assert change is not None
    assert change.fields == {
        "status": StepStatus.RUNNING,
        "attempt": 1,
        "lease_until": LEASE,
        "started_at": T0,
    }
    assert change.move == Move(StepStatus.PENDING, StepStatus.RUNNING, "attempt 1 claimed")
    assert change.note == "attempt 1 started"
    claimed = step_attempts.applied(StepRun("r", "s"), change)
    assert (claimed.status, claimed.attempt, claimed.lease_until) == (
        StepStatus.RUNNING,
        1,
        LEASE,
    )


@pytest.mark.parametrize(
    ("stored", "attempt", "at", "granted"),
    [
        (_running(1), 1, T0, False),  # a live lease holds it
        (_running(1), 1, LEASE + timedelta(seconds=1), True),  # its runner died
        (_running(1, lease=None, outcome=1), 1, LEASE, False),  # it already reported
        (_running(2), 1, T0, False),  # superseded by a retry
        (_running(1, lease=None, outcome=1), 2, T0, True),  # the retry takes over
        (_running(1), 2, T0, True),  # even from a live earlier attempt
    ],
)
def test_claim_grants_exactly_the_attempts_the_protocol_allows(
    stored: StoredStep, attempt: int, at: datetime, granted: bool
) -> None:
    change = step_attempts.claim(stored, attempt, at + timedelta(minutes=5), at, None)
    assert (change is not None) is granted
    if change is not None:
        assert change.move is None  # running stays running: no transition recorded
        assert "started_at" not in change.fields  # the first start is kept


@pytest.mark.parametrize("status", [StepStatus.SUCCEEDED, StepStatus.CANCELLED, StepStatus.SKIPPED])
def test_a_terminal_step_is_never_claimed(status: StepStatus) -> None:
    step = StepRun("r", "s", status, 1)
    assert step_attempts.claim(StoredStep(step, 1), 2, LEASE, T0, None) is None


def test_attempts_are_numbered_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        step_attempts.claim(StoredStep(StepRun("r", "s")), 0, LEASE, T0, None)


def test_finish_records_an_outcome_once_and_only_for_the_current_attempt() -> None:
    change = step_attempts.finish(
        _running(2), 2, StepStatus.SUCCEEDED, T0, error=None, rows_written=7, metrics={"a": 1}
    )
    assert change is not None
    assert change.fields["rows_written"] == 7
    assert change.fields["finished_at"] == T0
    assert change.fields["outcome_attempt"] == 2
    assert change.fields["lease_until"] is None
    assert change.move == Move(StepStatus.RUNNING, StepStatus.SUCCEEDED, "attempt 2 succeeded")
    for late in (_running(2, outcome=2), _running(3)):
        finished = step_attempts.finish(
            late, 2, StepStatus.SUCCEEDED, T0, error=None, rows_written=7, metrics=None
        )
        assert finished is None


def test_a_failure_to_retry_keeps_the_step_running_and_frees_the_lease() -> None:
    change = step_attempts.finish(
        _running(1), 1, None, T0, error="boom", rows_written=0, metrics=None
    )
    assert change is not None
    assert change.fields == {"error": "boom", "lease_until": None, "outcome_attempt": 1}
    assert change.move is None


def test_a_final_failure_names_its_error_in_the_transition() -> None:
    change = step_attempts.finish(
        _running(3), 3, StepStatus.FAILED, T0, error="boom", rows_written=0, metrics=None
    )
    assert change is not None
    assert change.move is not None
    assert change.move.reason == "attempt 3 failed: boom"


def test_moves_refuse_what_the_state_machine_forbids_and_ignore_no_ops() -> None:
    succeeded = StepRun("r", "s", StepStatus.SUCCEEDED, 1)
    with pytest.raises(IllegalTransition):
        step_attempts.move_step(succeeded, StepStatus.RUNNING, "again", T0)
    assert step_attempts.move_step(succeeded, StepStatus.SUCCEEDED, "again", T0) is None
    cancelled = step_attempts.move_step(_running(1).step, StepStatus.CANCELLED, "stop", T0)
    assert cancelled is not None
    assert cancelled.fields == {
        "status": StepStatus.CANCELLED,
        "finished_at": T0,
        "lease_until": None,
    }


def test_a_run_move_sets_its_times_once_and_keeps_the_error() -> None:
    started = step_attempts.move_run(
        StoredRun(RunStatus.VALIDATING), RunStatus.RUNNING, "go", T0, None
    )
    assert started is not None
    assert started.fields == {"status": RunStatus.RUNNING, "started_at": T0}
    failed = step_attempts.move_run(
        StoredRun(RunStatus.RUNNING, T0), RunStatus.FAILED, "step x failed", T0, "boom"
    )
    assert failed is not None
    assert failed.fields == {"status": RunStatus.FAILED, "finished_at": T0, "error": "boom"}
    assert failed.move == Move(RunStatus.RUNNING, RunStatus.FAILED, "step x failed: boom")
    assert (
        step_attempts.move_run(StoredRun(RunStatus.FAILED), RunStatus.FAILED, "x", T0, None) is None
    )
