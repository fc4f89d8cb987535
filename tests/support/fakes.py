"""In-memory fakes of the StateStore and MessageBus ports (shared/ports.py).

Dict-backed and single-process: the handlers' logic (dispatch, coordinate, cancel) runs
through them in milliseconds. They are checked against the ports' own contract suites
(tests/contract/test_state_store_contract.py and test_message_bus_contract.py) like any
adapter, so a unit test on them asserts what the real stores do.

One lock makes every call atomic, which is all the port promises; nothing here models
a second process or a crash.
"""

from __future__ import annotations

import copy
import functools
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from shared.adapters.step_protocol import RunDecision, StepDecision, StepProtocolStore
from shared.config.catalog import PipelineCatalog
from shared.config.settings import Settings
from shared.domain.errors import Conflict, NotFound
from shared.domain.messages import Message
from shared.domain.models import LogEntry, Org, Run, StepRun, Transition
from shared.domain.notifications import PipelineEvent
from shared.domain.quota import (
    QuotaDecision,
    QuotaLimits,
    QuotaUsage,
    day_bucket,
    decide,
    month_bucket,
)
from shared.domain.states import RunStatus, StepStatus
from shared.domain.step_attempts import Change, StoredRun, StoredStep
from shared.handlers.services import Services
from shared.ports import Clock, CredentialStore, SecretBox, Warehouse

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="FakeStateStore")


def _atomic(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Run the method under the store's lock (the port: every call is atomic)."""

    @functools.wraps(method)
    def locked(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


@dataclass
class _Reservation:
    run_id: str
    day: str
    month: str
    reserved_at: datetime
    active: bool = True


@dataclass
class _Step:
    step: StepRun
    outcome_attempt: int = 0  # the last attempt whose outcome is recorded


@dataclass
class _StoredRun:
    run: Run  # its ``steps`` stay empty: they live in ``steps``
    steps: dict[str, _Step] = field(default_factory=dict)  # in the pipeline's order


class FakeStateStore(StepProtocolStore):
    """The StateStore port in dicts. Records handed out are copies, as a database's are."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._orgs: dict[str, Org] = {}
        self._reservations: dict[str, dict[str, _Reservation]] = {}  # org -> run_id -> r
        self._runs: dict[str, _StoredRun] = {}
        self._transitions: list[Transition] = []
        self._logs: list[LogEntry] = []

    # -- organisations -----------------------------------------------------------

    @_atomic
    def create_org(self, org: Org) -> None:
        if org.org_slug in self._orgs:
            raise Conflict(f"org {org.org_slug} already exists", org=org.org_slug)
        self._orgs[org.org_slug] = copy.deepcopy(org)

    @_atomic
    def get_org(self, org_slug: str) -> Org | None:
        return copy.deepcopy(self._orgs.get(org_slug))

    @_atomic
    def update_org(self, org: Org) -> None:
        if org.org_slug not in self._orgs:
            raise NotFound(f"org {org.org_slug} not found", org=org.org_slug)
        self._orgs[org.org_slug] = copy.deepcopy(org)

    @_atomic
    def list_orgs(self) -> list[Org]:
        return [copy.deepcopy(self._orgs[slug]) for slug in sorted(self._orgs)]

    # -- quota -------------------------------------------------------------------

    @_atomic
    def reserve_quota(
        self, org_slug: str, run_id: str, limits: QuotaLimits, now: datetime
    ) -> QuotaDecision:
        now = _utc(now)
        held = self._reservations.setdefault(org_slug, {})
        if run_id in held:
            return QuotaDecision(True)  # idempotent: a redelivered request takes nothing
        decision = decide(limits, self._usage(org_slug, now))
        if decision.admitted:
            held[run_id] = _Reservation(run_id, day_bucket(now), month_bucket(now), now)
        return decision

    @_atomic
    def release_concurrent(self, org_slug: str, run_id: str) -> bool:
        reservation = self._reservations.get(org_slug, {}).get(run_id)
        if reservation is None or not reservation.active:
            return False
        reservation.active = False
        return True

    @_atomic
    def quota_usage(self, org_slug: str, now: datetime) -> QuotaUsage:
        return self._usage(org_slug, _utc(now))

    def _usage(self, org_slug: str, now: datetime) -> QuotaUsage:
        held = self._reservations.get(org_slug, {}).values()
        day, month = day_bucket(now), month_bucket(now)
        return QuotaUsage(
            concurrent=sum(r.active for r in held),
            daily=sum(r.day == day for r in held),
            monthly=sum(r.month == month for r in held),
        )

    @_atomic
    def active_reservations(self) -> list[tuple[str, str, datetime]]:
        rows = [
            (org, r.run_id, r.reserved_at)
            for org, held in self._reservations.items()
            for r in held.values()
            if r.active
        ]
        return sorted(rows, key=lambda row: row[2])

    @_atomic
    def purge_reservations(self, before_month: str) -> int:
        purged = 0
        for held in self._reservations.values():
            for run_id in [k for k, r in held.items() if not r.active and r.month < before_month]:
                del held[run_id]
                purged += 1
        return purged

    # -- runs --------------------------------------------------------------------

    @_atomic
    def create_run(self, run: Run, at: datetime) -> None:
        for key, step in run.steps.items():
            if key != step.step_id:
                raise ValueError(f"run.steps key {key!r} != step_id {step.step_id!r}")
        if run.run_id in self._runs:
            raise Conflict(f"run {run.run_id} already exists", run_id=run.run_id)
        stored = replace(
            run,
            created_at=_utc(run.created_at),
            status=RunStatus.PENDING,
            parameters=copy.deepcopy(run.parameters),
            started_at=None,
            finished_at=None,
            error=None,
            steps={},
        )
        steps = {s: _Step(StepRun(run_id=run.run_id, step_id=s)) for s in run.steps}
        self._runs[run.run_id] = _StoredRun(stored, steps)
        self._record(run.run_id, None, None, RunStatus.PENDING, "created", at)

    @_atomic
    def get_run(self, org_slug: str, run_id: str, *, with_steps: bool = True) -> Run | None:
        stored = self._org_run(org_slug, run_id)
        return None if stored is None else self._copy(stored, with_steps=with_steps)

    @_atomic
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
        if limit < 1:
            raise ValueError("limit must be at least 1")
        runs = [s for s in self._runs.values() if s.run.org_slug == org_slug]
        if provider is not None:
            runs = [s for s in runs if s.run.provider == provider]
        if status is not None:
            runs = [s for s in runs if s.run.status == RunStatus(status)]
        if before is not None:
            cursor = (_utc(before), before_run_id)
            runs = [s for s in runs if _before(s.run, *cursor)]
        runs.sort(key=lambda s: (_utc(s.run.created_at), s.run.run_id), reverse=True)
        return [self._copy(s, with_steps=True) for s in runs[:limit]]

    # The claim / lease / finish protocol and the moves: decided in
    # shared/domain/step_attempts.py, the public methods inherited from StepProtocolStore.

    @_atomic
    def _change_run(self, org_slug: str, run_id: str, at: datetime, decide: RunDecision) -> bool:
        stored = self._org_run(org_slug, run_id)
        if stored is None:
            raise NotFound(f"run {run_id} not found", run_id=run_id)
        run = stored.run
        change = decide(StoredRun(run.status, run.started_at))
        if change is None:
            return False
        for name, value in change.fields.items():
            setattr(run, name, value)
        self._write_history(run_id, None, change, at)
        return True

    @_atomic
    def _change_step(
        self, run_id: str, step_id: str, at: datetime, decide: StepDecision
    ) -> StepRun | None:
        held = self._step(run_id, step_id)
        change = decide(StoredStep(copy.deepcopy(held.step), held.outcome_attempt))
        if change is None:
            return None
        for name, value in change.fields.items():
            if name == "outcome_attempt":
                held.outcome_attempt = value
            else:
                setattr(held.step, name, copy.deepcopy(value))
        self._write_history(run_id, step_id, change, at)
        return copy.deepcopy(held.step)

    def _write_history(
        self, run_id: str, step_id: str | None, change: Change, at: datetime
    ) -> None:
        if change.move is not None:
            move = change.move
            self._record(run_id, step_id, move.from_status, move.to_status, move.reason, at)
        if change.note is not None:
            self._logs.append(LogEntry(run_id, step_id, "INFO", change.note, _utc(at)))

    @_atomic
    def get_steps(self, run_id: str) -> dict[str, StepRun]:
        stored = self._runs.get(run_id)
        steps = stored.steps if stored else {}
        return {step_id: copy.deepcopy(held.step) for step_id, held in steps.items()}

    @_atomic
    def step_statuses(
        self, run_id: str, step_ids: Collection[str] | None = None
    ) -> dict[str, StepStatus]:
        stored = self._runs.get(run_id)
        wanted = None if step_ids is None else set(step_ids)
        return {
            step_id: held.step.status
            for step_id, held in (stored.steps if stored else {}).items()
            if wanted is None or step_id in wanted
        }

    @_atomic
    def has_unfinished_steps(self, run_id: str) -> bool:
        return any(not status.terminal for status in self.step_statuses(run_id).values())

    # -- history -----------------------------------------------------------------

    @_atomic
    def list_transitions(self, org_slug: str, run_id: str) -> list[Transition]:
        if self._org_run(org_slug, run_id) is None:
            return []
        return [copy.copy(t) for t in self._transitions if t.run_id == run_id]

    @_atomic
    def append_log(
        self, run_id: str, step_id: str | None, level: str, message: str, at: datetime
    ) -> None:
        if run_id not in self._runs:
            raise NotFound(f"run {run_id} not found", run_id=run_id)
        self._logs.append(LogEntry(run_id, step_id, level, message, _utc(at)))

    @_atomic
    def list_logs(self, org_slug: str, run_id: str) -> list[LogEntry]:
        if self._org_run(org_slug, run_id) is None:
            return []
        return [copy.copy(e) for e in self._logs if e.run_id == run_id]

    # -- internals ---------------------------------------------------------------

    def _org_run(self, org_slug: str, run_id: str) -> _StoredRun | None:
        stored = self._runs.get(run_id)
        return stored if stored is not None and stored.run.org_slug == org_slug else None

    def _step(self, run_id: str, step_id: str) -> _Step:
        stored = self._runs.get(run_id)
        if stored is None or step_id not in stored.steps:
            raise NotFound(f"step {step_id} of run {run_id} not found", run_id=run_id, step=step_id)
        return stored.steps[step_id]

    @staticmethod
    def _copy(stored: _StoredRun, *, with_steps: bool) -> Run:
        run = copy.deepcopy(stored.run)
        if with_steps:
            run.steps = {s: copy.deepcopy(held.step) for s, held in stored.steps.items()}
        return run

    def _record(
        self,
        run_id: str,
        step_id: str | None,
        from_status: str | None,  # a RunStatus or StepStatus (StrEnums) or None
        to_status: str,
        reason: str,
        at: datetime,
    ) -> None:
        frm = None if from_status is None else str(from_status)
        self._transitions.append(Transition(run_id, step_id, frm, str(to_status), reason, _utc(at)))


def _utc(value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise ValueError("datetimes given to the state store must be timezone-aware")
    return value.astimezone(UTC)


def _before(run: Run, before: datetime, before_run_id: str | None) -> bool:
    """The keyset cursor of list_runs: older, or as old with a smaller run_id."""
    created = _utc(run.created_at)
    if before_run_id is None:
        return created < before
    return created < before or (created == before and run.run_id < before_run_id)


@dataclass(frozen=True)
class Published:
    message: Message
    delay_seconds: float = 0.0
    at: float = field(default_factory=time.time)  # wall-clock seconds


class RecordingBus:
    """The MessageBus port that delivers nothing: it records what was published, in
    order, for a test to assert on or to hand to a handler itself (``take``)."""

    def __init__(self) -> None:
        self.published: list[Published] = []
        self._taken = 0

    def publish(self, message: Message, *, delay_seconds: float = 0.0) -> None:
        self.published.append(Published(message, delay_seconds))

    def publish_all(self, messages: Sequence[Message]) -> None:
        for message in messages:
            self.publish(message)

    @property
    def messages(self) -> list[Message]:
        return [p.message for p in self.published]

    def take(self) -> list[Message]:
        """What was published since the last ``take``."""
        new, self._taken = self.published[self._taken :], len(self.published)
        return [p.message for p in new]


class RecordingEvents:
    """An EventSink that keeps every pipeline event."""

    def __init__(self) -> None:
        self.events: list[PipelineEvent] = []

    def emit(self, event: PipelineEvent) -> None:
        self.events.append(event)


class _Absent:
    """A port the logic under test must not use: any use fails the test, naming it."""

    def __init__(self, port: str) -> None:
        self._port = port

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the {self._port} was used ({name}): not faked here")


def fake_services(catalog: PipelineCatalog, clock: Clock, home: Path) -> Services:
    """The handlers' Services on the in-memory fakes: a FakeStateStore, a RecordingBus and
    a RecordingEvents sink. The warehouse, secrets and credential store are absent (the
    pipelines of such tests need no credential and no warehouse before their steps run)."""
    settings = Settings(home=home, env="test", project_id="fake-project", runtime="embedded")
    return Services(
        store=FakeStateStore(),
        bus=RecordingBus(),
        warehouse=cast(Warehouse, _Absent("warehouse")),
        secrets=cast(SecretBox, _Absent("secret box")),
        catalog=catalog,
        clock=clock,
        settings=settings,
        credentials=cast(CredentialStore, _Absent("credential store")),
        events=RecordingEvents(),
    )
