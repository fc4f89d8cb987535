"""The StateStore's run and step moves, written once over two store primitives.

What a claim, a finish or a move does is decided in shared/domain/step_attempts.py.
A store supplies only the atomic read-decide-write around a decision: ``_change_step``
(read the step, decide, write the change, its transition and its log line as one) and
``_change_run`` (the same for a run, scoped to its org). Both adapters inherit the
public methods from here, so a race fix in the protocol lands in one place.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from shared.adapters.records import utc
from shared.domain import step_attempts
from shared.domain.models import StepRun
from shared.domain.states import RunStatus, StepStatus
from shared.domain.step_attempts import Change, StoredRun, StoredStep

StepDecision = Callable[[StoredStep], Change | None]
RunDecision = Callable[[StoredRun], Change | None]


class StepProtocolStore(ABC):
    """transition_run, claim_step_attempt, finish_step_attempt, transition_step."""

    @abstractmethod
    def _change_step(
        self, run_id: str, step_id: str, at: datetime, decide: StepDecision
    ) -> StepRun | None:
        """Apply ``decide``'s change atomically; the step after it, None if no change.

        Raises NotFound for an unknown step."""

    @abstractmethod
    def _change_run(self, org_slug: str, run_id: str, at: datetime, decide: RunDecision) -> bool:
        """Apply ``decide``'s change atomically; False if no change.

        Raises NotFound if the run is absent or another org's."""

    def transition_run(
        self,
        org_slug: str,
        run_id: str,
        target: RunStatus,
        reason: str,
        at: datetime,
        *,
        error: str | None = None,
    ) -> bool:
        """Also raises NotFound if the run is absent or another org's."""
        at = utc(at)
        return self._change_run(
            org_slug, run_id, at, lambda run: step_attempts.move_run(run, target, reason, at, error)
        )

    def claim_step_attempt(
        self,
        run_id: str,
        step_id: str,
        attempt: int,
        lease_until: datetime,
        at: datetime,
        *,
        note: str | None = None,
    ) -> StepRun | None:
        """Also raises NotFound for an unknown step, ValueError for ``attempt`` < 1."""
        at, lease_until = utc(at), utc(lease_until)
        return self._change_step(
            run_id,
            step_id,
            at,
            lambda stored: step_attempts.claim(stored, attempt, lease_until, at, note),
        )

    def finish_step_attempt(
        self,
        run_id: str,
        step_id: str,
        attempt: int,
        target: StepStatus | None,
        at: datetime,
        *,
        error: str | None = None,
        rows_written: int = 0,
        metrics: Mapping[str, Any] | None = None,
    ) -> bool:
        """Also raises NotFound for an unknown step, IllegalTransition for a bad target."""
        at = utc(at)

        def decide(stored: StoredStep) -> Change | None:
            return step_attempts.finish(
                stored, attempt, target, at, error=error, rows_written=rows_written, metrics=metrics
            )

        return self._change_step(run_id, step_id, at, decide) is not None

    def transition_step(
        self, run_id: str, step_id: str, target: StepStatus, reason: str, at: datetime
    ) -> bool:
        """Also raises NotFound for an unknown step."""
        at = utc(at)

        def decide(stored: StoredStep) -> Change | None:
            return step_attempts.move_step(stored.step, target, reason, at)

        return self._change_step(run_id, step_id, at, decide) is not None
