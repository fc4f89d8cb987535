"""The ScheduleStore and BackfillStore contracts: every adapter must pass this suite.

To run it against another adapter, add one entry to the factories below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from shared.adapters.firestore.ops import FirestoreBackfillStore, FirestoreScheduleStore
from shared.adapters.sqlite.ops import SqliteBackfillStore, SqliteScheduleStore
from shared.domain.errors import Conflict, NotFound
from shared.domain.schedules import Backfill, FireStatus, ReprocessPolicy, Schedule
from shared.ports import BackfillStore, ScheduleStore
from tests.support.contract import adapters, together
from tests.support.emulators import firestore_client

SCHEDULE_FACTORIES: dict[str, Callable[[Path], ScheduleStore]] = {
    "sqlite": lambda tmp: SqliteScheduleStore(tmp / "state.db"),
    "firestore": lambda tmp: FirestoreScheduleStore(firestore_client()),
}
BACKFILL_FACTORIES: dict[str, Callable[[Path], BackfillStore]] = {
    "sqlite": lambda tmp: SqliteBackfillStore(tmp / "state.db"),
    "firestore": lambda tmp: FirestoreBackfillStore(firestore_client()),
}
T0 = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)

store = adapters(SCHEDULE_FACTORIES, "tmp_path")
backfills = adapters(BACKFILL_FACTORIES, "tmp_path")


def make_schedule(
    schedule_id: str = "s1", org: str = "acme", pipeline: str = "aws/cost/billing"
) -> Schedule:
    return Schedule(
        schedule_id=schedule_id,
        org_slug=org,
        pipeline_ref=pipeline,
        cron="0 4 * * *",
        enabled=True,
        parameters={"region": "eu"},
        created_at=T0,
        updated_at=T0,
        next_fire_at=T0,
    )


def test_schedule_round_trips_and_lists_by_org(store: ScheduleStore) -> None:
    store.create_schedule(make_schedule("s1"))
    store.create_schedule(make_schedule("s2", org="globex"))
    store.create_schedule(make_schedule("s3", pipeline="aws/cost/amortized"))
    assert store.get_schedule("s1") == make_schedule("s1")
    assert store.get_schedule("nope") is None
    assert [s.schedule_id for s in store.list_schedules()] == ["s3", "s1", "s2"]
    assert [s.schedule_id for s in store.list_schedules("globex")] == ["s2"]


def test_one_schedule_per_org_and_pipeline(store: ScheduleStore) -> None:
    store.create_schedule(make_schedule("s1"))
    with pytest.raises(Conflict):
        store.create_schedule(make_schedule("s2"))
    with pytest.raises(Conflict):
        store.create_schedule(make_schedule("s1", pipeline="gcp/cost/billing"))


def test_update_replaces_mutable_fields(store: ScheduleStore) -> None:
    store.create_schedule(make_schedule())
    changed = make_schedule()
    changed.cron, changed.enabled, changed.parameters = "*/5 * * * *", False, {}
    changed.next_fire_at, changed.updated_at = None, T0 + timedelta(hours=1)
    store.update_schedule(changed)
    assert store.get_schedule("s1") == changed
    with pytest.raises(NotFound):
        store.update_schedule(make_schedule("ghost"))


def test_due_schedules_are_enabled_and_at_or_before_now(store: ScheduleStore) -> None:
    store.create_schedule(make_schedule("due"))
    late = make_schedule("later", pipeline="p/d/later")
    late.next_fire_at = T0 + timedelta(minutes=1)
    store.create_schedule(late)
    off = make_schedule("off", pipeline="p/d/off")
    off.enabled = False
    store.create_schedule(off)
    assert [s.schedule_id for s in store.due_schedules(T0)] == ["due"]
    assert [s.schedule_id for s in store.due_schedules(T0 + timedelta(minutes=1))] == [
        "due",
        "later",
    ]


def test_a_firing_is_claimed_once_and_moves_the_schedule(store: ScheduleStore) -> None:
    store.create_schedule(make_schedule())
    nxt = T0 + timedelta(days=1)
    assert store.claim_fire("s1", T0, "run-a", nxt, T0)
    assert not store.claim_fire("s1", T0, "run-b", nxt + timedelta(days=1), T0)
    schedule = store.get_schedule("s1")
    assert schedule is not None
    assert (schedule.next_fire_at, schedule.last_fire_at, schedule.last_run_id) == (
        nxt,
        T0,
        "run-a",
    )
    [fire] = store.list_fires()
    assert (fire.run_id, fire.status, fire.attempts) == ("run-a", FireStatus.QUEUED, 0)
    assert store.get_fire("s1", T0) == fire
    assert store.get_fire("s1", nxt) is None
    with pytest.raises(NotFound):
        store.claim_fire("ghost", T0, "r", None, T0)


def test_a_refused_claim_moves_a_schedule_stuck_on_a_taken_firing(
    store: ScheduleStore,
) -> None:
    store.create_schedule(make_schedule())
    nxt = T0 + timedelta(days=1)
    assert store.claim_fire("s1", T0, "run-a", nxt, T0)
    stale = make_schedule()  # a concurrent update wrote back the old next time
    store.update_schedule(stale)
    assert [s.schedule_id for s in store.due_schedules(T0)] == ["s1"]
    assert not store.claim_fire("s1", T0, "run-a", nxt, T0)
    assert store.due_schedules(T0) == []
    schedule = store.get_schedule("s1")
    assert schedule is not None
    assert schedule.next_fire_at == nxt
    # a manual trigger (next time unchanged) that loses leaves a later next time alone
    assert not store.claim_fire("s1", T0, "run-a", T0, T0)
    assert store.get_schedule("s1").next_fire_at == nxt  # type: ignore[union-attr]


def test_concurrent_claims_admit_exactly_one(store: ScheduleStore) -> None:
    store.create_schedule(make_schedule())
    wins = together(8, lambda _: store.claim_fire("s1", T0, "run-a", T0 + timedelta(days=1), T0))
    assert sorted(wins) == [False] * 7 + [True]
    assert len(store.list_fires(schedule_id="s1")) == 1


def test_settle_records_outcomes_on_queued_fires_only(store: ScheduleStore) -> None:
    store.create_schedule(make_schedule())
    store.claim_fire("s1", T0, "run-a", None, T0)
    assert store.settle_fire("s1", T0, FireStatus.QUEUED, T0, error="quota full")
    assert store.list_fires(status=FireStatus.QUEUED)[0].attempts == 1
    assert store.settle_fire("s1", T0, FireStatus.DISPATCHED, T0)
    assert not store.settle_fire("s1", T0, FireStatus.FAILED, T0)  # settled already
    [fire] = store.list_fires(status=FireStatus.DISPATCHED)
    assert (fire.attempts, fire.error) == (2, None)
    assert store.list_fires(status=FireStatus.QUEUED) == []


def _backfill(backfill_id: str = "b1", org: str = "acme") -> Backfill:
    return Backfill(
        backfill_id=backfill_id,
        org_slug=org,
        pipeline_ref="aws/cost/billing",
        start_date=date(2026, 3, 1),
        end_date=date(2026, 3, 3),
        policy=ReprocessPolicy.NONE,
        max_concurrent=2,
        parameters={"region": "eu"},
        created_at=T0,
        days={date(2026, 3, 1): None, date(2026, 3, 3): None},
        skipped=[date(2026, 3, 2)],
    )


def test_backfill_round_trips_scoped_to_its_org(backfills: BackfillStore) -> None:
    backfills.create_backfill(_backfill())
    assert backfills.get_backfill("acme", "b1") == _backfill()
    assert backfills.get_backfill("globex", "b1") is None
    with pytest.raises(Conflict):
        backfills.create_backfill(_backfill())
    assert [b.backfill_id for b in backfills.list_backfills("acme")] == ["b1"]
    assert backfills.list_backfills("globex") == []


def test_day_runs_attach_once(backfills: BackfillStore) -> None:
    backfills.create_backfill(_backfill())
    backfills.set_day_run("b1", date(2026, 3, 1), "r1")
    backfills.set_day_run("b1", date(2026, 3, 1), "r1")  # idempotent
    with pytest.raises(NotFound):
        backfills.set_day_run("b1", date(2026, 3, 1), "r2")  # another run for the day
    with pytest.raises(NotFound):
        backfills.set_day_run("b1", date(2026, 3, 2), "r3")  # skipped by policy
    stored = backfills.get_backfill("acme", "b1")
    assert stored is not None
    assert stored.days == {date(2026, 3, 1): "r1", date(2026, 3, 3): None}
