"""StateStore on Cloud Firestore (Native mode), through the official client.

Layout (every document small, every atomic write on one run's or one step's documents):

- ``orgs/{org}``
- ``runs/{run_id}``: the run, with ``org_slug`` (scoped reads check it) and
  ``step_ids`` (the pipeline's step order)
- ``runs/{run_id}/steps/{step_id}``: one step; claim/finish/transition read it, then
  commit one batch whose update of it requires it unchanged since that read
- ``runs/{run_id}/transitions/{auto}``, ``runs/{run_id}/logs/{auto}``: history, listed in
  (``at``, commit time, client sequence) order
- ``quota/{org}/reservations/{run_id}``: which slots a run holds (idempotency record)
- ``quota/{org}/concurrent/{i}``, ``quota/{org}/day-{YYYY-MM-DD}/{i}``,
  ``quota/{org}/month-{YYYY-MM}/{i}``: one "slot" document per admitted run, i < limit

Why slots: a check-and-increment transaction on one counter document serialises every
dispatch of an org and, under contention, stalls the emulator and hits Firestore's
~1 write/s/document limit. ``document.create()`` on slot ``i`` succeeds for exactly one
writer (AlreadyExists for the rest), so N concurrent reservers get at most ``limit``
slots without any shared hot document. Daily and monthly quotas "reset" by themselves:
a new day is a new, empty collection. A refusal gives back what the call took.

A side effect to know about: a request refused on its daily or monthly limit holds a
concurrent slot for a few milliseconds before giving it back, so a simultaneous request
can be refused on "concurrent" although it would have fit. That errs on the safe side
(never more than the limit is admitted).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.adapters import records
from shared.adapters.clock import SystemClock
from shared.adapters.firestore.values import FIRESTORE_RECORDS, Doc, plain_utc, stamp
from shared.adapters.records import utc
from shared.adapters.step_protocol import RunDecision, StepDecision, StepProtocolStore
from shared.domain.errors import Conflict, NotFound
from shared.domain.models import LogEntry, Org, Run, StepRun, Transition
from shared.domain.quota import QuotaDecision, QuotaLimits, QuotaUsage, day_bucket, month_bucket
from shared.domain.states import RunStatus, StepStatus
from shared.domain.step_attempts import Change, StoredRun, StoredStep, applied
from shared.ports import Clock

T = TypeVar("T")

_KINDS = ("concurrent", "daily", "monthly")  # the order decide() checks them in
# A reservation in progress this long is presumed abandoned (its caller died) and taken over.
TAKEOVER_AFTER = timedelta(seconds=30)
_HELD = "held"
_RESERVING = "reserving"
_KNOWN_RUNS_MAX = 10_000


class FirestoreStateStore(StepProtocolStore):
    """The StateStore port on Firestore (see the module docstring)."""

    def __init__(self, client: firestore.Client, *, clock: Clock | None = None) -> None:
        self._db = client  # the caller's: thread-safe, shared, closed by whoever made it
        # release_concurrent has no time argument in the port; released_at comes from here.
        self._clock: Clock = clock or SystemClock()
        self._random = random.Random()  # noqa: S311 - spreads slot probes, not crypto
        self._known_runs: dict[str, None] = {}  # insertion-ordered, bounded: see append_log
        self._known_lock = threading.Lock()

    # -- helpers -------------------------------------------------------------------

    def _transact(self, body: Callable[[Any], T]) -> T:
        """Run ``body(transaction)`` in a Firestore transaction (retried on contention)."""
        return firestore.transactional(body)(self._db.transaction())  # type: ignore[no-any-return]

    def _guarded(
        self, ref: Any, missing: Callable[[], Exception], body: Callable[[Any, Doc], T]
    ) -> T:
        """Read-modify-write of one document as one read and one commit, no transaction.

        ``body(writer, data)`` stages writes on ``writer``; they commit as one atomic batch
        whose update of ``ref`` requires the document unchanged since it was read (its
        update time). If another writer got there first, read again and decide again.
        A transaction costs a third round trip (BeginTransaction) and, on the emulator,
        stalls under contention (LOCAL_STACK.md); this precondition never locks.
        """
        while True:
            snap = ref.get()
            if not snap.exists:
                raise missing()
            writer = _GuardedWriter(
                self._db.batch(), ref, self._db.write_option(last_update_time=snap.update_time)
            )
            result = body(writer, snap.to_dict())
            if not writer.staged:
                return result
            if not writer.guarded:
                raise ValueError("a guarded write must update the document it read")
            try:
                writer.batch.commit()
            except gexc.FailedPrecondition:
                continue  # changed since our read: decide again on the new state
            return result

    def _run_ref(self, run_id: str) -> Any:
        return self._db.collection("runs").document(run_id)

    def _step_ref(self, run_id: str, step_id: str) -> Any:
        return self._run_ref(run_id).collection("steps").document(step_id)

    def _quota(self, org_slug: str) -> Any:
        return self._db.collection("quota").document(org_slug)

    def _slots(self, org_slug: str, kind: str, now: datetime) -> Any:
        quota = self._quota(org_slug)
        if kind == "daily":
            return quota.collection(f"day-{day_bucket(now)}")
        if kind == "monthly":
            return quota.collection(f"month-{month_bucket(now)}")
        return quota.collection("concurrent")

    def _owned_run(self, org_slug: str, run_id: str) -> Doc | None:
        snap = self._run_ref(run_id).get()
        data = snap.to_dict() if snap.exists else None
        return data if data is not None and data.get("org_slug") == org_slug else None

    # -- organisations ---------------------------------------------------------------

    def create_org(self, org: Org) -> None:
        try:
            self._db.collection("orgs").document(org.org_slug).create(_org_doc(org))
        except gexc.AlreadyExists:
            raise Conflict(f"org {org.org_slug} already exists", org=org.org_slug) from None

    def get_org(self, org_slug: str) -> Org | None:
        snap = self._db.collection("orgs").document(org_slug).get()
        return _org(snap.to_dict()) if snap.exists else None

    def update_org(self, org: Org) -> None:
        """Raises NotFound if the org does not exist."""
        ref = self._db.collection("orgs").document(org.org_slug)
        try:
            ref.update(_org_doc(org))  # update() requires the document to exist
        except gexc.NotFound:
            raise NotFound(f"org {org.org_slug} not found", org=org.org_slug) from None

    # -- quota -----------------------------------------------------------------------

    def reserve_quota(
        self, org_slug: str, run_id: str, limits: QuotaLimits, now: datetime
    ) -> QuotaDecision:
        now = utc(now)
        record = self._quota(org_slug).collection("reservations").document(run_id)
        lock = self._lock_reservation(record, now)
        if lock is None:
            return QuotaDecision(True)  # idempotent: a redelivered request takes nothing
        locked_at, resumed = lock
        mine = self._db.write_option(last_update_time=locked_at)

        taken: dict[str, tuple[Any, str]] = {}
        for kind in _KINDS:
            slots = self._slots(org_slug, kind, now)
            own = self._own_slot(slots, run_id) if resumed else None
            slot_id = own or self._take_slot(slots, run_id, getattr(limits, kind), now)
            if slot_id is None:
                for held_slots, held_id in taken.values():
                    held_slots.document(held_id).delete()
                if resumed:  # slots an interrupted earlier call took for the later kinds
                    for later in _KINDS[_KINDS.index(kind) + 1 :]:
                        later_slots = self._slots(org_slug, later, now)
                        if (left := self._own_slot(later_slots, run_id)) is not None:
                            later_slots.document(left).delete()
                with contextlib.suppress(gexc.FailedPrecondition, gexc.NotFound):
                    record.delete(option=mine)
                # Every slot was held when probed; a racing reserver may have given its
                # back since, so a fresh count could read "3 of 5 used" on a refusal.
                limit = getattr(limits, kind)
                return QuotaDecision(False, kind, limit, max(limit, _count(slots)))
            taken[kind] = (slots, slot_id)

        held = {
            "state": _HELD,
            "day": day_bucket(now),
            "month": month_bucket(now),
            "concurrent_slot": taken["concurrent"][1],
            "concurrent_active": True,
            "released_at": None,
        }
        try:
            record.update(held, option=mine)
        except (gexc.FailedPrecondition, gexc.NotFound):
            # We stalled past TAKEOVER_AFTER and another call took over; it finds and
            # keeps the slots we took (they carry the run id). Its outcome is ours.
            return self.reserve_quota(org_slug, run_id, limits, now)
        return QuotaDecision(True)

    def _lock_reservation(self, record: Any, now: datetime) -> tuple[datetime, bool] | None:
        """Make this call the only one reserving for the run.

        Returns (the record's update time, resumed) once this call holds the record, or
        None if the run already holds its reservation. Concurrent calls for one run
        (duplicate deliveries) wait for the holder; a holder silent for TAKEOVER_AFTER
        is presumed dead and taken over (``resumed``: reuse the slots it took).
        """
        while True:
            try:
                result = record.create({"state": _RESERVING, "created_at": now})
                return result.update_time, False
            except gexc.AlreadyExists:
                pass
            snap = record.get()
            if not snap.exists:
                continue  # the holder was refused and cleaned up: try afresh
            if (snap.to_dict() or {}).get("state") == _HELD:
                return None
            if datetime.now(UTC) - snap.update_time < TAKEOVER_AFTER:
                time.sleep(0.05)
                continue
            try:
                result = record.update(
                    {"taken_over_at": now},
                    option=self._db.write_option(last_update_time=snap.update_time),
                )
            except (gexc.FailedPrecondition, gexc.NotFound):
                continue  # someone else took over first (or it finished)
            return result.update_time, True

    def _own_slot(self, slots: Any, run_id: str) -> str | None:
        query = slots.where(filter=FieldFilter("run_id", "==", run_id)).limit(1)
        for snap in query.stream():
            return str(snap.id)
        return None

    def _take_slot(self, slots: Any, run_id: str, limit: int, now: datetime) -> str | None:
        """Create one free slot document ``i < limit``; None if all are taken."""
        if limit < 1 or _count(slots) >= limit:  # the count is a hint; create() decides
            return None
        start = self._random.randrange(limit)  # spread concurrent reservers over the slots
        for offset in range(limit):
            slot_id = str((start + offset) % limit)
            try:
                slots.document(slot_id).create({"run_id": run_id, "at": now})
            except gexc.AlreadyExists:
                continue
            return slot_id
        return None

    def release_concurrent(self, org_slug: str, run_id: str) -> bool:
        record = self._quota(org_slug).collection("reservations").document(run_id)
        concurrent = self._quota(org_slug).collection("concurrent")
        released_at = utc(self._clock.now())

        def body(txn: Any) -> bool:
            snap = record.get(transaction=txn)
            data = snap.to_dict() if snap.exists else None
            if not data or data.get("state") != _HELD or not data.get("concurrent_active"):
                return False
            txn.update(record, {"concurrent_active": False, "released_at": released_at})
            txn.delete(concurrent.document(data["concurrent_slot"]))
            return True

        return self._transact(body)

    def quota_usage(self, org_slug: str, now: datetime) -> QuotaUsage:
        now = utc(now)
        counts = {kind: _count(self._slots(org_slug, kind, now)) for kind in _KINDS}
        return QuotaUsage(**counts)

    # -- maintenance reads ----------------------------------------------------------

    def list_orgs(self) -> list[Org]:
        snaps = self._db.collection("orgs").order_by("__name__").stream()
        return [_org(snap.to_dict()) for snap in snaps]

    def active_reservations(self) -> list[tuple[str, str, datetime]]:
        # A collection-group query over every org's reservations (one field filter).
        query = self._db.collection_group("reservations").where(
            filter=FieldFilter("concurrent_active", "==", True)
        )
        held = [
            (
                snap.reference.parent.parent.id,
                snap.id,
                plain_utc((snap.to_dict() or {})["created_at"]),
            )
            for snap in query.stream()
        ]
        return sorted(held, key=lambda row: row[2])  # oldest first, as the sweeper expects

    def purge_reservations(self, before_month: str) -> int:
        query = self._db.collection_group("reservations").where(
            filter=FieldFilter("month", "<", before_month)
        )
        purged = 0
        for snap in query.stream():
            data = snap.to_dict() or {}
            if data.get("state") == _HELD and not data.get("concurrent_active"):
                # Its day and month slots go too: a purged run counts toward nothing.
                quota = snap.reference.parent.parent
                for bucket in (f"day-{data['day']}", f"month-{data['month']}"):
                    if (slot := self._own_slot(quota.collection(bucket), snap.id)) is not None:
                        quota.collection(bucket).document(slot).delete()
                snap.reference.delete()
                purged += 1
        return purged

    # -- runs ------------------------------------------------------------------------

    def create_run(self, run: Run, at: datetime) -> None:
        """Raises Conflict if the run_id exists; statuses given on ``run`` are ignored."""
        for key, step in run.steps.items():
            if key != step.step_id:
                raise ValueError(f"run.steps key {key!r} != step_id {step.step_id!r}")
        ref = self._run_ref(run.run_id)
        batch = self._db.batch()  # all or nothing: the create() precondition guards it
        batch.create(
            ref, {**records.new_run_record(run, FIRESTORE_RECORDS), "step_ids": list(run.steps)}
        )
        for position, step_id in enumerate(run.steps):
            batch.create(
                ref.collection("steps").document(step_id), _new_step_doc(step_id, position)
            )
        _record(batch, ref, None, None, RunStatus.PENDING, "created", at)
        try:
            batch.commit()
        except gexc.AlreadyExists:
            raise Conflict(f"run {run.run_id} already exists", run_id=run.run_id) from None

    def get_run(self, org_slug: str, run_id: str, *, with_steps: bool = True) -> Run | None:
        data = self._owned_run(org_slug, run_id)
        if data is None:
            return None
        return self._with_steps([(run_id, data)])[0] if with_steps else _run(run_id, data)

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
        query = self._db.collection("runs").where(filter=FieldFilter("org_slug", "==", org_slug))
        if provider is not None:
            query = query.where(filter=FieldFilter("provider", "==", provider))
        if status is not None:
            query = query.where(filter=FieldFilter("status", "==", RunStatus(status).value))
        query = query.order_by("created_at", direction=firestore.Query.DESCENDING).order_by(
            "__name__", direction=firestore.Query.DESCENDING
        )
        if before is not None and before_run_id is not None:
            # Keyset cursor on (created_at, run id): runs sharing a created_at are not lost.
            query = query.start_after(
                {"created_at": utc(before), "__name__": self._run_ref(before_run_id)}
            )
        elif before is not None:
            query = query.where(filter=FieldFilter("created_at", "<", utc(before)))
        query = query.limit(limit)
        return self._with_steps([(snap.id, snap.to_dict() or {}) for snap in query.stream()])

    def _with_steps(self, rows: list[tuple[str, Doc]]) -> list[Run]:
        """Runs with their steps, all step documents read in one batched get."""
        runs = [_run(run_id, data) for run_id, data in rows]
        refs = [
            self._step_ref(run.run_id, step_id)
            for run, (_, data) in zip(runs, rows, strict=True)
            for step_id in data.get("step_ids", [])
        ]
        found: dict[tuple[str, str], StepRun] = {}
        for snap in self._db.get_all(refs) if refs else []:
            if snap.exists:
                run_id = snap.reference.parent.parent.id
                found[(run_id, snap.id)] = _step(run_id, snap.to_dict())
        for run, (_, data) in zip(runs, rows, strict=True):
            for step_id in data.get("step_ids", []):
                run.steps[step_id] = found[(run.run_id, step_id)]
        return runs

    def _change_run(self, org_slug: str, run_id: str, at: datetime, decide: RunDecision) -> bool:
        ref = self._run_ref(run_id)

        def body(txn: Any) -> bool:
            snap = ref.get(transaction=txn)
            data = snap.to_dict() if snap.exists else None
            if data is None or data.get("org_slug") != org_slug:
                raise NotFound(f"run {run_id} not found", run_id=run_id)
            started_at = FIRESTORE_RECORDS.time_or_none_in(data.get("started_at"))
            change = decide(StoredRun(RunStatus(data["status"]), started_at))
            if change is None:
                return False
            _apply(txn, ref, ref, None, change, at)
            return True

        return self._transact(body)

    # -- steps -----------------------------------------------------------------------

    def _change_step(
        self, run_id: str, step_id: str, at: datetime, decide: StepDecision
    ) -> StepRun | None:
        run_ref, ref = self._run_ref(run_id), self._step_ref(run_id, step_id)

        def missing() -> Exception:
            return NotFound(
                f"step {step_id} of run {run_id} not found", run_id=run_id, step=step_id
            )

        def body(writer: Any, data: Doc) -> StepRun | None:
            stored = StoredStep(_step(run_id, data), data["outcome_attempt"])
            change = decide(stored)
            if change is None:
                return None
            _apply(writer, run_ref, ref, step_id, change, at)
            return applied(stored.step, change)

        return self._guarded(ref, missing, body)

    def get_steps(self, run_id: str) -> dict[str, StepRun]:
        snaps = self._run_ref(run_id).collection("steps").stream()
        rows = sorted((snap.to_dict() for snap in snaps), key=lambda d: d["position"])
        return {d["step_id"]: _step(run_id, d) for d in rows}

    def step_statuses(
        self, run_id: str, step_ids: Collection[str] | None = None
    ) -> dict[str, StepStatus]:
        # A projection: only the fields the answer needs cross the wire.
        fields = ["step_id", "status", "position"]
        steps = self._run_ref(run_id).collection("steps")
        if step_ids is None:
            snaps = steps.select(fields).stream()
        elif step_ids:  # one BatchGet of just these documents, not a scan of the run
            snaps = self._db.get_all([steps.document(s) for s in step_ids], field_paths=fields)
        else:
            return {}
        docs = (snap.to_dict() for snap in snaps if snap.exists)
        rows = sorted((d for d in docs if d), key=lambda d: d["position"])
        return {d["step_id"]: StepStatus(d["status"]) for d in rows}

    def has_unfinished_steps(self, run_id: str) -> bool:
        # At most one document (no fields) crosses the wire, however long the run.
        unfinished = [StepStatus.PENDING.value, StepStatus.RUNNING.value]
        query = (
            self._run_ref(run_id)
            .collection("steps")
            .where(filter=FieldFilter("status", "in", unfinished))
            .select([])
            .limit(1)
        )
        return any(True for _ in query.stream())

    # -- history ---------------------------------------------------------------------

    def list_transitions(self, org_slug: str, run_id: str) -> list[Transition]:
        if self._owned_run(org_slug, run_id) is None:
            return []
        history = _history(self._run_ref(run_id).collection("transitions").stream())
        return [records.transition_from(run_id, d, FIRESTORE_RECORDS) for d in history]

    def append_log(
        self, run_id: str, step_id: str | None, level: str, message: str, at: datetime
    ) -> None:
        """Raises NotFound if the run does not exist."""
        ref = self._run_ref(run_id)
        # Runs are never deleted: one existence check per run and process is enough
        # (a step writes several log lines; each check was a round trip).
        if run_id not in self._known_runs:
            if not ref.get(field_paths=["org_slug"]).exists:
                raise NotFound(f"run {run_id} not found", run_id=run_id)
            with self._known_lock:  # handlers run on several threads
                self._known_runs[run_id] = None
                if len(self._known_runs) > _KNOWN_RUNS_MAX:
                    self._known_runs.pop(next(iter(self._known_runs)))
        ref.collection("logs").add(_log_doc(step_id, level, message, at))

    def list_logs(self, org_slug: str, run_id: str) -> list[LogEntry]:
        if self._owned_run(org_slug, run_id) is None:
            return []
        history = _history(self._run_ref(run_id).collection("logs").stream())
        return [records.log_from(run_id, d, FIRESTORE_RECORDS) for d in history]


# -- module helpers ------------------------------------------------------------------


class _GuardedWriter:
    """What ``_guarded`` hands its body: a batch whose update of the read document
    carries the read's precondition (creates of new documents need none)."""

    def __init__(self, batch: Any, ref: Any, guard: Any) -> None:
        self.batch, self._ref, self._guard = batch, ref, guard
        self.staged = self.guarded = False

    def update(self, ref: Any, changes: Doc) -> None:
        if ref.path != self._ref.path:
            raise ValueError("a guarded write updates only the document it read")
        self.batch.update(ref, changes, option=self._guard)
        self.staged = self.guarded = True

    def create(self, ref: Any, data: Doc) -> None:
        self.batch.create(ref, data)
        self.staged = True


def _count(collection: Any) -> int:
    result = collection.count().get()
    return int(result[0][0].value)


def _log_doc(step_id: str | None, level: str, message: str, at: datetime) -> Doc:
    return {"step_id": step_id, "level": level, "message": message, **stamp(at)}


def _history(snaps: Iterable[Any]) -> list[Doc]:
    # Few entries per run: sorting here needs no composite index.
    docs = [snap.to_dict() for snap in snaps]
    return sorted(docs, key=lambda d: (d["at"], d["recorded_at"], d["seq"]))


def _record(
    writer: Any,
    run_ref: Any,
    step_id: str | None,
    from_status: str | None,
    to_status: str,
    reason: str,
    at: datetime,
) -> None:
    """Add a transition document in the caller's transaction or batch (or guarded writer)."""
    writer.create(
        run_ref.collection("transitions").document(),
        {
            "step_id": step_id,
            "from_status": None if from_status is None else str(from_status),
            "to_status": str(to_status),
            "reason": reason,
            **stamp(at),
        },
    )


def _apply(
    writer: Any, run_ref: Any, ref: Any, step_id: str | None, change: Change, at: datetime
) -> None:
    """Stage a decided change on ``writer``: its fields, its transition, its log line."""
    writer.update(ref, FIRESTORE_RECORDS.encode(change.fields))
    if change.move is not None:
        move = change.move
        _record(writer, run_ref, step_id, move.from_status, move.to_status, move.reason, at)
    if change.note is not None:  # in the change's commit: one round trip, not two
        writer.create(
            run_ref.collection("logs").document(), _log_doc(step_id, "INFO", change.note, at)
        )


def _org_doc(org: Org) -> Doc:
    return records.org_record(org, FIRESTORE_RECORDS)


def _org(d: Doc | None) -> Org:
    assert d is not None
    return records.org_from(d, FIRESTORE_RECORDS)


def _run(run_id: str, d: Doc) -> Run:
    return records.run_from(run_id, d, FIRESTORE_RECORDS)


def _new_step_doc(step_id: str, position: int) -> Doc:
    return {
        "step_id": step_id,
        "position": position,
        "status": StepStatus.PENDING.value,
        "attempt": 0,
        "outcome_attempt": 0,  # last attempt whose outcome is recorded
        "lease_until": None,
        "started_at": None,
        "finished_at": None,
        "error": None,
        "rows_written": 0,
        "metrics": {},
    }


def _step(run_id: str, d: Doc | None) -> StepRun:
    assert d is not None
    return records.step_from(run_id, d, FIRESTORE_RECORDS)
