"""Schedule, backfill and notification stores on Cloud Firestore (official client).

Layout:

- ``schedules/{schedule_id}``; ``schedule_keys/{org|provider|domain|pipeline}`` holds the
  (org, pipeline) uniqueness: both ``create()``-d in one batch
- ``schedule_fires/{schedule_id|fire_time}``: one firing. "Fires once" is the
  ``create()`` of this document, committed in one batch with the schedule's move to its
  next firing: the batch fails whole (AlreadyExists) for every caller but one
- ``backfills/{backfill_id}``: the record, its days as a map ``{YYYY-MM-DD: run_id|None}``
- ``notification_settings/{org}``, ``notification_cooldowns/{org|channel|trigger}``,
  ``notification_deliveries/{auto}``

No transactions: contended Firestore transactions stall the emulator (see
firestore_state.py). Every check-then-write is either a ``create()`` (exactly one writer
wins) or an update/delete carrying the ``last_update_time`` of the snapshot it checked
(a concurrent writer makes it fail with FailedPrecondition, and the check runs again).
Queries that filter and order on different fields use the composite indexes declared in
terraform/data.tf; the emulator needs none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import quote

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.adapters import records
from shared.adapters.firestore.values import (
    FIRESTORE_RECORDS,
    next_seq,
    plain_utc,
    plain_utc_or_none,
)
from shared.adapters.records import utc
from shared.domain.errors import Conflict, DependencyUnavailable, NotFound
from shared.domain.notifications import Delivery
from shared.domain.schedules import Backfill, FireStatus, Schedule, ScheduleFire

T = TypeVar("T")
Doc = dict[str, Any]
_MAX_RACES = 50  # optimistic retries of one check-then-write before giving up


def _key(*parts: str) -> str:
    """A document id made of parts (``/`` is not allowed in ids; ``|`` separates)."""
    return "|".join(quote(part, safe="") for part in parts)


def _fire_key(fire_time: datetime) -> str:
    return utc(fire_time).isoformat(timespec="microseconds")


def _optimistic(attempt: Callable[[], T | None], what: str) -> T:
    """Run ``attempt`` until it returns non-None; it returns None when it lost a race
    (FailedPrecondition / AlreadyExists on a precondition it set)."""
    for _ in range(_MAX_RACES):
        result = attempt()
        if result is not None:
            return result
    raise DependencyUnavailable(f"Firestore: {what}: too much contention, try again")


class FirestoreScheduleStore:
    """The ScheduleStore port (see shared/ports.py and the module docstring)."""

    def __init__(self, client: firestore.Client) -> None:
        self._db = client  # the caller's: shared, thread-safe

    def _schedule_ref(self, schedule_id: str) -> Any:
        return self._db.collection("schedules").document(schedule_id)

    def _fire_ref(self, schedule_id: str, fire_time: datetime) -> Any:
        return self._db.collection("schedule_fires").document(
            _key(schedule_id, _fire_key(fire_time))
        )

    def create_schedule(self, schedule: Schedule) -> None:
        conflict = Conflict(
            f"a schedule for {schedule.org_slug} {schedule.pipeline_ref} already exists",
            org=schedule.org_slug,
            pipeline=schedule.pipeline_ref,
        )
        unique = self._db.collection("schedule_keys").document(
            _key(schedule.org_slug, *schedule.pipeline_ref.split("/"))
        )
        batch = self._db.batch()  # both or neither: no key can be left without its schedule
        batch.create(unique, {"schedule_id": schedule.schedule_id})
        batch.create(self._schedule_ref(schedule.schedule_id), _schedule_doc(schedule))
        try:
            batch.commit()
        except gexc.AlreadyExists:
            raise conflict from None

    def get_schedule(self, schedule_id: str) -> Schedule | None:
        snap = self._schedule_ref(schedule_id).get()
        return _schedule(_data(snap)) if snap.exists else None

    def list_schedules(self, org_slug: str | None = None) -> list[Schedule]:
        query: Any = self._db.collection("schedules")
        if org_slug is not None:
            query = query.where(filter=FieldFilter("org_slug", "==", org_slug))
        # At most one schedule per (org, pipeline): few enough to sort here, no index.
        schedules = [_schedule(_data(snap)) for snap in query.stream()]
        return sorted(schedules, key=lambda s: (s.org_slug, s.pipeline_ref))

    def update_schedule(self, schedule: Schedule) -> None:
        try:
            self._schedule_ref(schedule.schedule_id).update(  # requires the document
                {
                    "cron": schedule.cron,
                    "enabled": schedule.enabled,
                    "parameters": json.dumps(schedule.parameters),
                    "next_fire_at": FIRESTORE_RECORDS.time_or_none_out(schedule.next_fire_at),
                    "updated_at": utc(schedule.updated_at),
                }
            )
        except gexc.NotFound:
            raise NotFound(f"schedule {schedule.schedule_id} not found") from None

    def due_schedules(self, now: datetime) -> list[Schedule]:
        # One range filter (single-field index); disabled schedules have no next time,
        # and the few disabled-but-timed ones are dropped here rather than by an index.
        query = self._db.collection("schedules").where(
            filter=FieldFilter("next_fire_at", "<=", utc(now))
        )
        due = [_schedule(_data(s)) for s in query.stream()]
        return sorted((s for s in due if s.enabled), key=lambda s: (s.next_fire_at, s.schedule_id))

    def claim_fire(
        self,
        schedule_id: str,
        fire_time: datetime,
        run_id: str,
        next_fire_at: datetime | None,
        at: datetime,
    ) -> bool:
        ref = self._schedule_ref(schedule_id)
        snap = ref.get()
        if not snap.exists:
            raise NotFound(f"schedule {schedule_id} not found")
        doc = _data(snap)
        batch = self._db.batch()
        batch.create(
            self._fire_ref(schedule_id, fire_time),
            {
                "schedule_id": schedule_id,
                "fire_time": utc(fire_time),
                "org_slug": doc["org_slug"],
                "pipeline_ref": doc["pipeline_ref"],
                "run_id": run_id,
                "status": FireStatus.QUEUED.value,
                "attempts": 0,
                "error": None,
                "created_at": utc(at),
                "updated_at": utc(at),
            },
        )
        batch.update(
            ref,
            {
                "next_fire_at": FIRESTORE_RECORDS.time_or_none_out(next_fire_at),
                "last_fire_at": utc(fire_time),
                "last_run_id": run_id,
            },
        )
        try:
            batch.commit()  # atomic: the claim and the schedule's move, or neither
            return True
        except gexc.AlreadyExists:
            self._move_past_taken_fire(schedule_id, fire_time, next_fire_at)
            return False
        except gexc.NotFound:
            raise NotFound(f"schedule {schedule_id} not found") from None

    def _move_past_taken_fire(
        self, schedule_id: str, fire_time: datetime, next_fire_at: datetime | None
    ) -> None:
        """A schedule still pointing at or before a taken firing (a racing PUT wrote back
        a stale next time) is moved on to ``next_fire_at``; otherwise nothing changes."""
        ref = self._schedule_ref(schedule_id)
        fire_time = utc(fire_time)

        def attempt() -> bool | None:
            snap = ref.get()
            if not snap.exists:
                return True
            current = plain_utc_or_none(snap.get("next_fire_at"))
            if current is None or current > fire_time:
                return True
            if next_fire_at is None or utc(next_fire_at) <= current:
                return True
            try:
                ref.update(
                    {"next_fire_at": utc(next_fire_at)},
                    option=self._db.write_option(last_update_time=snap.update_time),
                )
            except gexc.FailedPrecondition:
                return None  # changed since we looked: look again
            return True

        _optimistic(attempt, f"moving schedule {schedule_id}")

    def settle_fire(
        self,
        schedule_id: str,
        fire_time: datetime,
        status: FireStatus,
        at: datetime,
        *,
        error: str | None = None,
    ) -> bool:
        ref = self._fire_ref(schedule_id, fire_time)

        def attempt() -> bool | None:
            snap = ref.get()
            if not snap.exists or snap.get("status") != FireStatus.QUEUED.value:
                return False
            try:
                ref.update(
                    {
                        "status": FireStatus(status).value,
                        "error": error,
                        "attempts": snap.get("attempts") + 1,
                        "updated_at": utc(at),
                    },
                    option=self._db.write_option(last_update_time=snap.update_time),
                )
            except gexc.FailedPrecondition:
                return None
            return True

        return _optimistic(attempt, f"settling {schedule_id} at {fire_time}")

    def get_fire(self, schedule_id: str, fire_time: datetime) -> ScheduleFire | None:
        snap = self._fire_ref(schedule_id, fire_time).get()
        return _fire(_data(snap)) if snap.exists else None

    def list_fires(
        self,
        *,
        status: FireStatus | None = None,
        schedule_id: str | None = None,
        limit: int = 100,
    ) -> list[ScheduleFire]:
        query: Any = self._db.collection("schedule_fires")
        if status is not None:
            query = query.where(filter=FieldFilter("status", "==", FireStatus(status).value))
        if schedule_id is not None:
            query = query.where(filter=FieldFilter("schedule_id", "==", schedule_id))
        query = query.order_by("fire_time")
        if schedule_id is None:  # ties on one schedule's fire_time cannot occur
            query = query.order_by("schedule_id")
        query = query.limit(limit)
        return [_fire(_data(snap)) for snap in query.stream()]


class FirestoreBackfillStore:
    """The BackfillStore port (see shared/ports.py and the module docstring)."""

    def __init__(self, client: firestore.Client) -> None:
        self._db = client

    def _ref(self, backfill_id: str) -> Any:
        return self._db.collection("backfills").document(backfill_id)

    def create_backfill(self, backfill: Backfill) -> None:
        days: dict[str, str | None] = {d.isoformat(): r for d, r in backfill.days.items()}
        try:
            self._ref(backfill.backfill_id).create(
                {
                    **records.backfill_record(backfill, FIRESTORE_RECORDS),
                    "days": days,
                    "skipped": sorted(d.isoformat() for d in backfill.skipped),
                }
            )
        except gexc.AlreadyExists:
            raise Conflict(f"backfill {backfill.backfill_id} already exists") from None

    def get_backfill(self, org_slug: str, backfill_id: str) -> Backfill | None:
        snap = self._ref(backfill_id).get()
        doc = _data(snap) if snap.exists else None
        return _backfill(doc) if doc is not None and doc["org_slug"] == org_slug else None

    def set_day_run(self, backfill_id: str, day: date, run_id: str) -> None:
        ref, key = self._ref(backfill_id), day.isoformat()
        closed = NotFound(f"day {day} of backfill {backfill_id} is not open for a run")

        def attempt() -> bool | None:
            snap = ref.get()
            days: dict[str, str | None] = snap.get("days") if snap.exists else {}
            if key not in days or days[key] not in (None, run_id):
                raise closed
            if days[key] == run_id:
                return True  # idempotent
            try:
                ref.update(
                    {"days": {**days, key: run_id}},
                    option=self._db.write_option(last_update_time=snap.update_time),
                )
            except gexc.FailedPrecondition:
                return None
            return True

        _optimistic(attempt, f"backfill {backfill_id} day {day}")

    def list_backfills(self, org_slug: str, *, limit: int = 50) -> list[Backfill]:
        query = (
            self._db.collection("backfills")
            .where(filter=FieldFilter("org_slug", "==", org_slug))
            .order_by("created_at", direction=firestore.Query.DESCENDING)
            .order_by("backfill_id", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        return [_backfill(_data(snap)) for snap in query.stream()]


class FirestoreNotificationStore:
    """The NotificationStore port (see shared/ports.py and the module docstring)."""

    def __init__(self, client: firestore.Client) -> None:
        self._db = client

    def get_org_settings(self, org_slug: str) -> dict[str, Any] | None:
        snap = self._db.collection("notification_settings").document(org_slug).get()
        if not snap.exists:
            return None
        settings: dict[str, Any] = json.loads(snap.get("settings"))
        return settings

    def set_org_settings(self, org_slug: str, settings: Mapping[str, Any], at: datetime) -> None:
        # JSON text: Firestore maps cannot hold every JSON shape (nested arrays).
        self._db.collection("notification_settings").document(org_slug).set(
            {"settings": json.dumps(dict(settings)), "updated_at": utc(at)}
        )

    def _cooldown_ref(self, org_slug: str, channel: str, trigger_key: str) -> Any:
        return self._db.collection("notification_cooldowns").document(
            _key(org_slug, channel, trigger_key)
        )

    def claim_cooldown(
        self, org_slug: str, channel: str, trigger_key: str, now: datetime, cooldown_seconds: int
    ) -> bool:
        ref, now = self._cooldown_ref(org_slug, channel, trigger_key), utc(now)

        def attempt() -> bool | None:
            snap = ref.get()
            try:
                if not snap.exists:
                    ref.create({"last_sent_at": now})  # exactly one first claimer
                    return True
                if (now - plain_utc(snap.get("last_sent_at"))).total_seconds() < cooldown_seconds:
                    return False
                ref.update(
                    {"last_sent_at": now},
                    option=self._db.write_option(last_update_time=snap.update_time),
                )
            except (gexc.AlreadyExists, gexc.FailedPrecondition):
                return None  # another claimer wrote first: decide again on its write
            return True

        return _optimistic(attempt, f"cooldown {org_slug}/{channel}")

    def release_cooldown(
        self, org_slug: str, channel: str, trigger_key: str, claimed: datetime
    ) -> None:
        ref, claimed = self._cooldown_ref(org_slug, channel, trigger_key), utc(claimed)

        def attempt() -> bool | None:
            snap = ref.get()
            if not snap.exists or plain_utc(snap.get("last_sent_at")) != claimed:
                return True  # a later claim replaced ours: leave it
            try:
                ref.delete(option=self._db.write_option(last_update_time=snap.update_time))
            except (gexc.FailedPrecondition, gexc.NotFound):
                return None
            return True

        _optimistic(attempt, f"cooldown {org_slug}/{channel}")

    def record_delivery(self, delivery: Delivery) -> None:
        self._db.collection("notification_deliveries").add(
            {
                **records.delivery_record(delivery, FIRESTORE_RECORDS),
                "seq": next_seq(),  # insertion order among equal times
            }
        )

    def list_deliveries(self, org_slug: str, *, limit: int = 50) -> list[Delivery]:
        query = (
            self._db.collection("notification_deliveries")
            .where(filter=FieldFilter("org_slug", "==", org_slug))
            .order_by("at", direction=firestore.Query.DESCENDING)
            .order_by("seq", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        return [records.delivery_from(_data(snap), FIRESTORE_RECORDS) for snap in query.stream()]


def _data(snap: Any) -> Doc:
    data: Doc | None = snap.to_dict()
    if data is None:
        raise NotFound(f"document {snap.reference.path} vanished")
    return data


def _schedule_doc(schedule: Schedule) -> Doc:
    return records.schedule_record(schedule, FIRESTORE_RECORDS)


def _schedule(doc: Doc) -> Schedule:
    return records.schedule_from(doc, FIRESTORE_RECORDS)


def _fire(doc: Doc) -> ScheduleFire:
    return records.fire_from(doc, FIRESTORE_RECORDS)


def _backfill(doc: Doc) -> Backfill:
    days = {date.fromisoformat(day): run_id for day, run_id in doc["days"].items()}
    skipped = [date.fromisoformat(day) for day in doc["skipped"]]
    return records.backfill_from(doc, FIRESTORE_RECORDS, days, skipped)
