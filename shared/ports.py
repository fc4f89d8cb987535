"""The ports: small interfaces the handlers are written against.

Each has one contract test suite (tests/contract/) run against every adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from shared.domain.messages import Message
from shared.domain.models import LogEntry, Org, Run, StepRun, Transition
from shared.domain.quota import QuotaDecision, QuotaLimits, QuotaUsage
from shared.domain.states import RunStatus, StepStatus


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        ...


class StateStore(Protocol):
    """Organisations, quota, runs, steps, transitions and logs.

    Every mutating call is atomic. Methods that take an ``org_slug`` never return
    another org's records: reads are scoped to the caller's org. Step-level methods
    take a run_id the caller has already read through its org. Writes that name a
    missing org, run or step raise NotFound.
    """

    # -- organisations -------------------------------------------------------
    def create_org(self, org: Org) -> None:
        """Raises Conflict if the org exists."""
        ...

    def get_org(self, org_slug: str) -> Org | None: ...

    def update_org(self, org: Org) -> None: ...

    # -- quota ---------------------------------------------------------------
    def reserve_quota(
        self, org_slug: str, run_id: str, limits: QuotaLimits, now: datetime
    ) -> QuotaDecision:
        """Atomically check concurrent, daily and monthly limits and take one of each.

        Idempotent per run_id: a second call for a run that holds a reservation is
        admitted without taking more. A refusal takes nothing.
        """
        ...

    def release_concurrent(self, org_slug: str, run_id: str) -> bool:
        """Free the run's concurrent slot; False if it held none (already released)."""
        ...

    def quota_usage(self, org_slug: str, now: datetime) -> QuotaUsage: ...

    # -- runs ----------------------------------------------------------------
    def create_run(self, run: Run, at: datetime) -> None:
        """Store a new run (status pending) with its steps (status pending)."""
        ...

    def get_run(self, org_slug: str, run_id: str) -> Run | None:
        """The run with its steps, or None if absent or another org's."""
        ...

    def list_runs(
        self,
        org_slug: str,
        *,
        provider: str | None = None,
        status: RunStatus | None = None,
        limit: int = 50,
        before: datetime | None = None,
    ) -> list[Run]:
        """Newest first; ``before`` pages on created_at."""
        ...

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
        """Move the run; False (and no change) if it is already in ``target``.

        Raises IllegalTransition for a move the state machine forbids.
        """
        ...

    # -- steps ---------------------------------------------------------------
    def claim_step_attempt(
        self, run_id: str, step_id: str, attempt: int, lease_until: datetime, at: datetime
    ) -> StepRun | None:
        """Take attempt ``attempt`` of a step for execution.

        Succeeds (returns the updated step) when the step is pending, or running
        the same attempt whose lease has expired (its runner died), or running an
        earlier attempt (a retry). Moves pending to running. Returns None when the
        attempt is held by a live lease, already finished, superseded, or the step
        is terminal: the caller then drops the message.
        """
        ...

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
        """Record the outcome of ``attempt`` exactly once.

        ``target`` None means "failed but will be retried": the step stays running
        with its error noted. Returns False (and changes nothing) if this attempt's
        outcome was already recorded, or the step has moved on.
        """
        ...

    def transition_step(
        self, run_id: str, step_id: str, target: StepStatus, reason: str, at: datetime
    ) -> bool:
        """Move a step; False if already there. Raises IllegalTransition if forbidden."""
        ...

    def get_steps(self, run_id: str) -> dict[str, StepRun]: ...

    # -- history -------------------------------------------------------------
    def list_transitions(self, org_slug: str, run_id: str) -> list[Transition]: ...

    def append_log(
        self, run_id: str, step_id: str | None, level: str, message: str, at: datetime
    ) -> None: ...

    def list_logs(self, org_slug: str, run_id: str) -> list[LogEntry]: ...


class MessageBus(Protocol):
    def publish(self, message: Message, *, delay_seconds: float = 0.0) -> None:
        """Deliver at least once; ``delay_seconds`` holds a retry back."""
        ...


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # BigQuery standard SQL type: STRING, NUMERIC, DATE, TIMESTAMP, JSON, ...
    mode: str = "NULLABLE"
    fields: tuple[Column, ...] = ()  # the sub-columns of a RECORD (e.g. a billing export)


@dataclass(frozen=True, slots=True)
class LineageKey:
    """The idempotency key of every write: one slice per (org, pipeline, credential, day)."""

    org_slug: str
    pipeline_id: str
    credential_id: str
    start_date: date
    end_date: date


class Warehouse(Protocol):
    """BigQuery, always through the official client (bqemulator locally)."""

    project_id: str

    def ensure_dataset(self, dataset: str) -> None: ...

    def ensure_table(self, dataset: str, table: str, columns: Sequence[Column]) -> None: ...

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """One statement; ``params`` become named query parameters (@name)."""
        ...

    def run_script(self, sql: str) -> None:
        """A multi-statement script or CALL; values must already be safe literals."""
        ...

    def load_rows(
        self,
        dataset: str,
        table: str,
        columns: Sequence[Column],
        rows: Iterable[Mapping[str, Any]],
        *,
        replace: bool = True,
    ) -> int:
        """Load job for tables without lineage (an org's own inputs, e.g. its SaaS plans)."""
        ...

    def replace_slice(
        self,
        dataset: str,
        table: str,
        columns: Sequence[Column],
        rows: Iterable[Mapping[str, Any]],
        key: LineageKey,
        *,
        job_tag: str,
    ) -> int:
        """Load ``rows`` into staging, then delete the key's slice and insert in one script.

        Returns the number of rows written. Running it twice leaves the same rows.
        """
        ...


class SecretBox(Protocol):
    """Authenticated encryption of provider credentials (Cloud KMS or AES-256-GCM)."""

    def encrypt(self, plaintext: bytes, *, associated_data: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes, *, associated_data: bytes) -> bytes: ...


Handler = Callable[[Message], None]
