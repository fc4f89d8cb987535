"""The step-attempt protocol (claim, lease, finish) and run/step moves, decided once.

Every store reads a step (or run) inside its own atomic write, asks one of these
functions what to do, and applies the answer: the fields to set, the transition to
record, the log line to add. ``None`` means "change nothing" (the caller drops the
message). The rules live here so both stores follow them to the letter; each race fix
lands once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.domain.models import StepRun
from shared.domain.states import RunStatus, StepStatus, check_run_transition, check_step_transition


@dataclass(frozen=True, slots=True)
class Move:
    """A transition to record beside the change: from, to, and why."""

    from_status: str
    to_status: str
    reason: str


@dataclass(frozen=True, slots=True)
class Change:
    """What one accepted decision writes.

    ``fields``: new values by record field name (StepRun/Run attribute names, plus the
    step's ``outcome_attempt`` bookkeeping); ``move``: the transition to record, if any;
    ``note``: an INFO log line of the step, written in the same atomic write.
    """

    fields: Mapping[str, Any]
    move: Move | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class StoredStep:
    """A step as a store holds it: the model, and the last attempt whose outcome is recorded."""

    step: StepRun
    outcome_attempt: int = 0


@dataclass(frozen=True, slots=True)
class StoredRun:
    """The parts of a stored run a run move looks at."""

    status: RunStatus
    started_at: datetime | None = None


def with_error(reason: str, error: str | None) -> str:
    """A transition's reason, with the error that caused it when there is one."""
    return f"{reason}: {error}" if error else reason


def claim(
    stored: StoredStep, attempt: int, lease_until: datetime, at: datetime, note: str | None
) -> Change | None:
    """Take attempt ``attempt`` (see StateStore.claim_step_attempt for the contract).

    Granted when the step is pending, or running the same attempt whose lease has
    expired and which has not reported (its runner died), or running an earlier
    attempt (a retry takes over). Refused when a live lease holds it, it already
    reported, it is superseded, or the step is terminal.
    """
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    step = stored.step
    move = None
    if step.status == StepStatus.PENDING:
        check_step_transition(step.status, StepStatus.RUNNING)
        move = Move(step.status, StepStatus.RUNNING, f"attempt {attempt} claimed")
    elif step.status != StepStatus.RUNNING or attempt < step.attempt:
        return None  # terminal, or a superseded attempt
    elif attempt == step.attempt:
        lease_live = step.lease_until is not None and step.lease_until > at
        if lease_live or stored.outcome_attempt == attempt:
            return None  # someone is running it, or it already reported
    # else: a later attempt (a retry) takes over from an earlier one
    fields: dict[str, Any] = {
        "status": StepStatus.RUNNING,
        "attempt": attempt,
        "lease_until": lease_until,
    }
    if step.started_at is None:
        fields["started_at"] = at
    return Change(fields, move, note)


def finish(
    stored: StoredStep,
    attempt: int,
    target: StepStatus | None,
    at: datetime,
    *,
    error: str | None,
    rows_written: int,
    metrics: Mapping[str, Any] | None,
) -> Change | None:
    """Record the outcome of ``attempt`` exactly once (StateStore.finish_step_attempt).

    ``target`` None: failed and will be retried; the step stays running with its error
    noted and gives up the lease, so the retry (attempt + 1) can claim at once.
    """
    step = stored.step
    if (
        step.status != StepStatus.RUNNING
        or attempt != step.attempt
        or stored.outcome_attempt == attempt
    ):
        return None  # moved on, superseded/late, or already recorded
    if target is None:
        return Change({"error": error, "lease_until": None, "outcome_attempt": attempt})
    final = StepStatus(target)
    check_step_transition(step.status, final)
    fields: dict[str, Any] = {
        "status": final,
        "error": error,
        "rows_written": rows_written,
        "metrics": dict(metrics or {}),
        "lease_until": None,
        "outcome_attempt": attempt,
    }
    if final.terminal:
        fields["finished_at"] = at
    reason = with_error(f"attempt {attempt} {final.value}", error)
    return Change(fields, Move(step.status, final, reason))


def move_step(step: StepRun, target: StepStatus, reason: str, at: datetime) -> Change | None:
    """Move a step outside the attempt protocol (skip, cancel); None if already there."""
    target = StepStatus(target)
    if step.status == target:
        return None
    check_step_transition(step.status, target)
    fields: dict[str, Any] = {"status": target}
    if target == StepStatus.RUNNING and step.started_at is None:
        fields["started_at"] = at
    if target.terminal:
        fields["finished_at"] = at
        fields["lease_until"] = None
    return Change(fields, Move(step.status, target, reason))


def move_run(
    stored: StoredRun, target: RunStatus, reason: str, at: datetime, error: str | None
) -> Change | None:
    """Move a run; None if it is already in ``target``. IllegalTransition if forbidden."""
    target = RunStatus(target)
    if stored.status == target:
        return None
    check_run_transition(stored.status, target)
    fields: dict[str, Any] = {"status": target}
    if target == RunStatus.RUNNING and stored.started_at is None:
        fields["started_at"] = at
    if target.terminal:
        fields["finished_at"] = at
    if error is not None:
        fields["error"] = error
    return Change(fields, Move(stored.status, target, with_error(reason, error)))


def applied(step: StepRun, change: Change) -> StepRun:
    """The step as it reads after ``change`` (what a granted claim returns)."""
    values = {name: value for name, value in change.fields.items() if name != "outcome_attempt"}
    return replace(step, **values)
