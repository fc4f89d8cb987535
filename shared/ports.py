"""The ports: small interfaces the handlers are written against.

Each has one contract test suite (tests/contract/) run against every adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from shared.domain.columns import Column as Column  # re-exported: the port speaks in Columns
from shared.domain.credentials import CredentialInfo, StoredCredential
from shared.domain.messages import Message
from shared.domain.models import LogEntry, Org, Run, StepRun, Transition
from shared.domain.notifications import Delivery, PipelineEvent
from shared.domain.quota import QuotaDecision, QuotaLimits, QuotaUsage
from shared.domain.schedules import Backfill, FireStatus, Schedule, ScheduleFire
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

    def get_run(self, org_slug: str, run_id: str, *, with_steps: bool = True) -> Run | None:
        """The run with its steps, or None if absent or another org's.

        ``with_steps=False`` leaves ``steps`` empty: a read that costs the same for any
        number of steps, for handlers that only need the run itself.
        """
        ...

    def list_runs(
        self,
        org_slug: str,
        *,
        provider: str | None = None,
        status: RunStatus | None = None,
        limit: int = 50,
        before: datetime | None = None,
        before_run_id: str | None = None,
    ) -> list[Run]:
        """Newest first (created_at, then run_id, descending).

        ``before`` alone pages on created_at; with ``before_run_id`` it is a keyset
        cursor on (created_at, run_id), so runs sharing a created_at are not skipped.
        """
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
        self,
        run_id: str,
        step_id: str,
        attempt: int,
        lease_until: datetime,
        at: datetime,
        *,
        note: str | None = None,
    ) -> StepRun | None:
        """Take attempt ``attempt`` of a step for execution.

        ``note``: an INFO log line of the step, written with the claim if (and only if)
        it is granted, in the same write (the runner's "attempt N started").

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

    def step_statuses(
        self, run_id: str, step_ids: Collection[str] | None = None
    ) -> dict[str, StepStatus]:
        """Each step's status only, in step order: what the coordinator decides on after
        every step event (reading whole steps there made a run cost O(steps^2)).
        ``step_ids`` narrows it to those steps (unknown ids are left out)."""
        ...

    def has_unfinished_steps(self, run_id: str) -> bool:
        """Is any step still pending or running? (Answered without reading every step.)"""
        ...

    # -- history -------------------------------------------------------------
    def list_transitions(self, org_slug: str, run_id: str) -> list[Transition]: ...

    def append_log(
        self, run_id: str, step_id: str | None, level: str, message: str, at: datetime
    ) -> None: ...

    def list_logs(self, org_slug: str, run_id: str) -> list[LogEntry]: ...

    # -- maintenance (operator jobs, across orgs) ------------------------------
    def list_orgs(self) -> list[Org]:
        """Every org, by slug."""
        ...

    def active_reservations(self) -> list[tuple[str, str, datetime]]:
        """(org_slug, run_id, reserved_at) of every reservation still holding a slot."""
        ...

    def purge_reservations(self, before_month: str) -> int:
        """Delete released reservations of months before ``before_month`` (YYYY-MM).

        They no longer count toward any limit; returns how many were deleted.
        """
        ...


class ScheduleStore(Protocol):
    """Schedules and their firings. Every mutating call is atomic."""

    def create_schedule(self, schedule: Schedule) -> None:
        """Raises Conflict if the id, or the (org, pipeline) pair, is taken."""
        ...

    def get_schedule(self, schedule_id: str) -> Schedule | None: ...

    def list_schedules(self, org_slug: str | None = None) -> list[Schedule]:
        """By org, then pipeline; ``org_slug`` narrows to one org."""
        ...

    def update_schedule(self, schedule: Schedule) -> None:
        """Replace cron, enabled, parameters, next_fire_at, updated_at. NotFound if absent."""
        ...

    def due_schedules(self, now: datetime) -> list[Schedule]:
        """Enabled schedules whose next_fire_at is at or before ``now``."""
        ...

    def claim_fire(
        self,
        schedule_id: str,
        fire_time: datetime,
        run_id: str,
        next_fire_at: datetime | None,
        at: datetime,
    ) -> bool:
        """Record firing (schedule_id, fire_time) as queued, and move the schedule on.

        True for exactly one caller per (schedule_id, fire_time), however many ticks
        race; the others get False and record nothing, except that a schedule still
        pointing at or before that firing is moved on to ``next_fire_at``, so it can
        never stay due for a firing already taken. NotFound if the schedule is absent.
        """
        ...

    def settle_fire(
        self,
        schedule_id: str,
        fire_time: datetime,
        status: FireStatus,
        at: datetime,
        *,
        error: str | None = None,
    ) -> bool:
        """Record a dispatch attempt's outcome on a queued firing (attempts + 1).

        Returns False, changing nothing, if the firing is not queued any more.
        """
        ...

    def get_fire(self, schedule_id: str, fire_time: datetime) -> ScheduleFire | None: ...

    def list_fires(
        self,
        *,
        status: FireStatus | None = None,
        schedule_id: str | None = None,
        limit: int = 100,
    ) -> list[ScheduleFire]:
        """Oldest fire_time first."""
        ...


class BackfillStore(Protocol):
    """Backfill records: which day went to which run."""

    def create_backfill(self, backfill: Backfill) -> None:
        """Raises Conflict if the id exists."""
        ...

    def get_backfill(self, org_slug: str, backfill_id: str) -> Backfill | None:
        """None if absent or another org's."""
        ...

    def set_day_run(self, backfill_id: str, day: date, run_id: str) -> None:
        """Attach the run dispatched for ``day`` (idempotent for the same run id)."""
        ...

    def list_backfills(self, org_slug: str, *, limit: int = 50) -> list[Backfill]:
        """Newest first."""
        ...


class NotificationStore(Protocol):
    """Per-org notification settings, cooldowns and the delivery history."""

    def get_org_settings(self, org_slug: str) -> dict[str, Any] | None:
        """The org's override of the root settings (None: no override)."""
        ...

    def set_org_settings(
        self, org_slug: str, settings: Mapping[str, Any], at: datetime
    ) -> None: ...

    def claim_cooldown(
        self, org_slug: str, channel: str, trigger_key: str, now: datetime, cooldown_seconds: int
    ) -> bool:
        """Atomically: False if this trigger was sent on this channel within the cooldown,
        else note ``now`` as its last send and return True."""
        ...

    def release_cooldown(
        self, org_slug: str, channel: str, trigger_key: str, claimed: datetime
    ) -> None:
        """Undo a claim made at ``claimed`` (the send failed), unless a later one replaced it."""
        ...

    def record_delivery(self, delivery: Delivery) -> None: ...

    def list_deliveries(self, org_slug: str, *, limit: int = 50) -> list[Delivery]:
        """Newest first."""
        ...


class EventSink(Protocol):
    """Where pipeline events go (notifications). Must not raise into the pipeline."""

    def emit(self, event: PipelineEvent) -> None: ...


class MessageBus(Protocol):
    def publish(self, message: Message, *, delay_seconds: float = 0.0) -> None:
        """Deliver at least once; ``delay_seconds`` holds a retry back."""
        ...

    def publish_all(self, messages: Sequence[Message]) -> None:
        """``publish`` each (no delay), returning once every one is accepted: in flight
        together, in no order among them (a fan-out's ready steps)."""
        ...


# The file formats a warehouse load job reads (BigQuery's source formats).
FileFormat = Literal["PARQUET", "AVRO", "NEWLINE_DELIMITED_JSON"]


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

    def load_file(
        self,
        dataset: str,
        table: str,
        columns: Sequence[Column],
        path: Path,
        source_format: FileFormat,
        *,
        replace: bool = True,
    ) -> int:
        """A load job of a file as the warehouse reads it itself (a customer's exported
        billing rows); ``replace`` truncates the table first. Returns the rows loaded."""
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


class CredentialStore(Protocol):
    """Provider credentials per (org, provider), stored only as SecretBox ciphertext.

    Every read is scoped to the org; ``list`` never returns ciphertext. Encryption and
    decryption happen outside the store (its rows are useless without the key).
    """

    def put(
        self,
        org_slug: str,
        provider: str,
        credential_id: str,
        ciphertext: bytes,
        metadata: Mapping[str, str],
        at: datetime,
    ) -> None:
        """Create or replace the org's credential for ``provider`` (keeps created_at)."""
        ...

    def get(self, org_slug: str, provider: str) -> StoredCredential | None: ...

    def list(self, org_slug: str) -> list[CredentialInfo]:
        """The org's credentials without their secrets, sorted by provider."""
        ...

    def delete(self, org_slug: str, provider: str) -> bool:
        """False if there was none."""
        ...


Handler = Callable[[Message], None]
