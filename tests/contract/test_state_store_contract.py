"""The StateStore contract: every adapter must pass this same suite.

To run it against another adapter, add one entry to STORE_FACTORIES.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared.adapters.clock import FixedClock
from shared.adapters.firestore.state import FirestoreStateStore
from shared.adapters.sqlite.state import SqliteStateStore
from shared.domain.errors import Conflict, IllegalTransition, NotFound
from shared.domain.models import Org, Run, StepRun
from shared.domain.quota import QuotaLimits, QuotaUsage, SubscriptionStatus
from shared.domain.states import RunStatus, StepStatus
from shared.ports import StateStore
from tests.support.contract import adapters
from tests.support.emulators import firestore_client
from tests.support.fakes import FakeStateStore

StoreFactory = Callable[[Path, FixedClock], StateStore]

STORE_FACTORIES: dict[str, StoreFactory] = {
    "sqlite": lambda tmp, clock: SqliteStateStore(tmp / "state.db", clock=clock),
    "firestore": lambda tmp, clock: FirestoreStateStore(firestore_client(), clock=clock),
    # The in-memory fake of the unit tests (tests/support/fakes.py): held to the same suite.
    "fake": lambda tmp, clock: FakeStateStore(),
}

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


ROOMY = QuotaLimits(daily=1000, monthly=1000, concurrent=1000)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


store = adapters(STORE_FACTORIES, "tmp_path", "clock")


def make_org(slug: str = "acme", limits: QuotaLimits = ROOMY) -> Org:
    return Org(
        org_slug=slug,
        name=slug.title(),
        status=SubscriptionStatus.ACTIVE,
        plan="scale",
        limits=limits,
        api_key_hash="sha256:abc",
        created_at=T0,
    )


def make_run(
    run_id: str = "run-1",
    org_slug: str = "acme",
    *,
    provider: str = "aws",
    created_at: datetime = T0,
    steps: tuple[str, ...] = ("extract", "load"),
) -> Run:
    return Run(
        run_id=run_id,
        org_slug=org_slug,
        pipeline_ref=f"{provider}/cost/billing",
        pipeline_id=f"{provider}-cost-billing",
        provider=provider,
        status=RunStatus.PENDING,
        trigger="api",
        start_date=date(2026, 3, 1),
        end_date=date(2026, 3, 2),
        credential_id="cred-1",
        parameters={"region": "eu", "nested": {"n": 1}},
        created_at=created_at,
        steps={s: StepRun(run_id=run_id, step_id=s) for s in steps},
    )


@pytest.fixture
def run(store: StateStore) -> Run:
    """One stored run of org "acme" with steps extract and load."""
    created = make_run()
    store.create_run(created, T0)
    return created


def lease(seconds: int = 60) -> datetime:
    return T0 + timedelta(seconds=seconds)


# -- organisations -----------------------------------------------------------------


def test_org_round_trips(store: StateStore) -> None:
    org = make_org()
    store.create_org(org)
    assert store.get_org("acme") == org
    assert store.get_org("nobody") is None


def test_creating_an_existing_org_conflicts(store: StateStore) -> None:
    store.create_org(make_org())
    with pytest.raises(Conflict):
        store.create_org(make_org())


def test_update_org_replaces_fields(store: StateStore) -> None:
    store.create_org(make_org())
    changed = make_org(limits=QuotaLimits(daily=1, monthly=2, concurrent=3))
    changed.status = SubscriptionStatus.SUSPENDED
    store.update_org(changed)
    assert store.get_org("acme") == changed


def test_update_missing_org_is_not_found(store: StateStore) -> None:
    with pytest.raises(NotFound):
        store.update_org(make_org("ghost"))


# -- quota -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "limit_hit", "release_each"),
    [
        (QuotaLimits(daily=100, monthly=100, concurrent=3), "concurrent", False),
        (QuotaLimits(daily=3, monthly=100, concurrent=100), "daily", True),
        (QuotaLimits(daily=100, monthly=3, concurrent=100), "monthly", True),
    ],
)
def test_reserve_admits_up_to_each_limit(
    store: StateStore, limits: QuotaLimits, limit_hit: str, release_each: bool
) -> None:
    for i in range(3):
        assert store.reserve_quota("acme", f"r{i}", limits, T0).admitted
        if release_each:  # so only the limit under test can fill up
            assert store.release_concurrent("acme", f"r{i}")
    before = store.quota_usage("acme", T0)

    refused = store.reserve_quota("acme", "r3", limits, T0)

    assert not refused.admitted
    assert (refused.limit_hit, refused.limit, refused.used) == (limit_hit, 3, 3)
    assert store.quota_usage("acme", T0) == before  # a refusal takes nothing


def test_quota_usage_counts_each_bucket(store: StateStore) -> None:
    assert store.quota_usage("acme", T0) == QuotaUsage(daily=0, monthly=0, concurrent=0)
    store.reserve_quota("acme", "r1", ROOMY, T0 - timedelta(days=2))
    store.reserve_quota("acme", "r2", ROOMY, T0)
    store.release_concurrent("acme", "r1")
    assert store.quota_usage("acme", T0) == QuotaUsage(daily=1, monthly=2, concurrent=1)


def test_reserve_is_idempotent_per_run(store: StateStore) -> None:
    limits = QuotaLimits(daily=100, monthly=100, concurrent=1)
    assert store.reserve_quota("acme", "r1", limits, T0).admitted
    assert store.reserve_quota("acme", "r1", limits, T0).admitted  # full, but already held
    assert store.quota_usage("acme", T0) == QuotaUsage(daily=1, monthly=1, concurrent=1)
    assert not store.reserve_quota("acme", "r2", limits, T0).admitted


def test_release_frees_a_concurrent_slot_exactly_once(store: StateStore) -> None:
    limits = QuotaLimits(daily=100, monthly=100, concurrent=1)
    store.reserve_quota("acme", "r1", limits, T0)
    assert store.release_concurrent("acme", "r1")
    assert not store.release_concurrent("acme", "r1")
    assert not store.release_concurrent("acme", "never-reserved")
    assert store.reserve_quota("acme", "r2", limits, T0).admitted
    assert store.quota_usage("acme", T0).concurrent == 1


def test_quota_is_per_org(store: StateStore) -> None:
    limits = QuotaLimits(daily=1, monthly=1, concurrent=1)
    assert store.reserve_quota("acme", "r1", limits, T0).admitted
    assert store.reserve_quota("globex", "r2", limits, T0).admitted
    assert not store.release_concurrent("globex", "r1")  # another org's reservation
    assert store.quota_usage("globex", T0) == QuotaUsage(daily=1, monthly=1, concurrent=1)


def test_daily_quota_resets_at_the_next_utc_day(store: StateStore, clock: FixedClock) -> None:
    limits = QuotaLimits(daily=1, monthly=100, concurrent=100)
    clock.set(datetime(2026, 3, 10, 23, 59, 59, tzinfo=UTC))
    assert store.reserve_quota("acme", "r1", limits, clock.now()).admitted
    # 01:30 on the 11th in UTC+2 is still the 10th in UTC: same bucket.
    local = datetime(2026, 3, 11, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert store.reserve_quota("acme", "r2", limits, local).limit_hit == "daily"
    clock.advance(1)
    assert store.reserve_quota("acme", "r2", limits, clock.now()).admitted


def test_monthly_quota_resets_at_the_next_utc_month(store: StateStore, clock: FixedClock) -> None:
    limits = QuotaLimits(daily=100, monthly=2, concurrent=100)
    clock.set(datetime(2026, 1, 30, 12, tzinfo=UTC))
    assert store.reserve_quota("acme", "r1", limits, clock.now()).admitted
    clock.advance(86400)  # the 31st: a new day, the same month
    assert store.reserve_quota("acme", "r2", limits, clock.now()).admitted
    assert store.reserve_quota("acme", "r3", limits, clock.now()).limit_hit == "monthly"
    clock.advance(86400)  # February 1st
    assert store.reserve_quota("acme", "r3", limits, clock.now()).admitted


# -- runs --------------------------------------------------------------------------


def test_run_round_trips_with_pending_steps_in_order(store: StateStore) -> None:
    created = make_run(steps=("b-extract", "a-load", "c-notify"))
    store.create_run(created, T0)

    got = store.get_run("acme", "run-1")

    assert got is not None
    assert got.to_public() == created.to_public()
    assert list(got.steps) == ["b-extract", "a-load", "c-notify"]
    assert all(s.status == StepStatus.PENDING and s.attempt == 0 for s in got.steps.values())
    assert got.created_at.tzinfo is not None
    assert store.get_steps("run-1") == got.steps


def test_a_run_without_its_steps_is_the_same_run_with_no_steps(store: StateStore) -> None:
    store.create_run(make_run(steps=("b-extract", "a-load")), T0)
    full = store.get_run("acme", "run-1")
    light = store.get_run("acme", "run-1", with_steps=False)
    assert full is not None
    assert light is not None
    assert light.steps == {}
    light.steps = full.steps
    assert light == full
    assert store.get_run("globex", "run-1", with_steps=False) is None  # still org-scoped


def test_step_statuses_follow_the_steps_in_order(store: StateStore) -> None:
    store.create_run(make_run(steps=("b-extract", "a-load")), T0)
    assert store.step_statuses("run-1") == {
        "b-extract": StepStatus.PENDING,
        "a-load": StepStatus.PENDING,
    }
    assert list(store.step_statuses("run-1")) == ["b-extract", "a-load"]
    store.transition_step("run-1", "a-load", StepStatus.SKIPPED, "upstream failed", T0)
    assert store.step_statuses("run-1") == {
        step_id: step.status for step_id, step in store.get_steps("run-1").items()
    }
    assert store.step_statuses("nope") == {}


def test_step_statuses_narrowed_to_some_steps(store: StateStore) -> None:
    store.create_run(make_run(steps=("c", "b", "a")), T0)
    store.transition_step("run-1", "a", StepStatus.SKIPPED, "upstream failed", T0)
    # Step order, not the order asked in; unknown ids are left out; none asked, none read.
    assert list(store.step_statuses("run-1", ["a", "c", "zz"]).items()) == [
        ("c", StepStatus.PENDING),
        ("a", StepStatus.SKIPPED),
    ]
    assert store.step_statuses("run-1", []) == {}
    assert store.step_statuses("nope", ["a"]) == {}


def test_has_unfinished_steps_until_every_step_is_terminal(store: StateStore) -> None:
    store.create_run(make_run(steps=("a", "b")), T0)
    assert store.has_unfinished_steps("run-1")  # both pending
    store.transition_step("run-1", "a", StepStatus.SKIPPED, "upstream failed", T0)
    lease = T0 + timedelta(minutes=5)
    assert store.claim_step_attempt("run-1", "b", 1, lease, T0) is not None
    assert store.has_unfinished_steps("run-1")  # b running
    assert store.finish_step_attempt("run-1", "b", 1, StepStatus.SUCCEEDED, T0)
    assert not store.has_unfinished_steps("run-1")
    assert not store.has_unfinished_steps("nope")


def test_creating_an_existing_run_conflicts(store: StateStore, run: Run) -> None:
    with pytest.raises(Conflict):
        store.create_run(make_run(run.run_id), T0)


def test_unknown_runs_are_absent(store: StateStore) -> None:
    assert store.get_run("acme", "nope") is None
    assert store.get_steps("nope") == {}
    assert store.list_transitions("acme", "nope") == []
    assert store.list_logs("acme", "nope") == []
    with pytest.raises(NotFound):
        store.transition_run("acme", "nope", RunStatus.VALIDATING, "go", T0)


def test_list_runs_newest_first_with_filters_and_paging(store: StateStore) -> None:
    for i, provider in enumerate(["aws", "gcp", "aws", "azure", "aws"]):
        store.create_run(
            make_run(f"r{i}", provider=provider, created_at=T0 + timedelta(minutes=i)), T0
        )
    store.create_run(make_run("other", "globex"), T0)
    store.transition_run("acme", "r2", RunStatus.CANCELLED, "user", T0)

    def ids(runs: list[Run]) -> list[str]:
        return [r.run_id for r in runs]

    assert ids(store.list_runs("acme")) == ["r4", "r3", "r2", "r1", "r0"]
    assert ids(store.list_runs("acme", provider="aws")) == ["r4", "r2", "r0"]
    assert ids(store.list_runs("acme", status=RunStatus.CANCELLED)) == ["r2"]
    assert ids(store.list_runs("acme", provider="gcp", status=RunStatus.CANCELLED)) == []
    page1 = store.list_runs("acme", limit=2)
    assert ids(page1) == ["r4", "r3"]
    page2 = store.list_runs("acme", limit=2, before=page1[-1].created_at)
    assert ids(page2) == ["r2", "r1"]
    assert ids(store.list_runs("acme", limit=2, before=page2[-1].created_at)) == ["r0"]
    assert set(store.list_runs("acme")[0].steps) == {"extract", "load"}


def test_another_org_cannot_see_a_run(store: StateStore, run: Run) -> None:
    store.append_log(run.run_id, None, "INFO", "hello", T0)
    assert store.get_run("globex", run.run_id) is None
    assert store.list_runs("globex") == []
    assert store.list_transitions("globex", run.run_id) == []
    assert store.list_logs("globex", run.run_id) == []
    with pytest.raises(NotFound):
        store.transition_run("globex", run.run_id, RunStatus.CANCELLED, "x", T0)
    got = store.get_run("acme", run.run_id)
    assert got is not None
    assert got.status == RunStatus.PENDING


# -- run transitions ---------------------------------------------------------------


def test_run_moves_through_its_lifecycle(store: StateStore, run: Run) -> None:
    t1, t2, t3 = (T0 + timedelta(seconds=s) for s in (1, 2, 3))
    assert store.transition_run("acme", run.run_id, RunStatus.VALIDATING, "picked up", t1)
    assert store.transition_run("acme", run.run_id, RunStatus.RUNNING, "valid", t2)
    assert store.transition_run("acme", run.run_id, RunStatus.COMPLETED, "all steps done", t3)

    got = store.get_run("acme", run.run_id)
    assert got is not None
    assert (got.status, got.started_at, got.finished_at, got.error) == (
        RunStatus.COMPLETED,
        t2,
        t3,
        None,
    )
    history = [
        (t.step_id, t.from_status, t.to_status, t.reason, t.at)
        for t in store.list_transitions("acme", run.run_id)
    ]
    assert history == [
        (None, None, "pending", "created", T0),
        (None, "pending", "validating", "picked up", t1),
        (None, "validating", "running", "valid", t2),
        (None, "running", "completed", "all steps done", t3),
    ]
    assert all(t.at.tzinfo is not None for t in store.list_transitions("acme", run.run_id))


def test_transition_to_the_current_status_is_a_no_op(store: StateStore, run: Run) -> None:
    assert not store.transition_run("acme", run.run_id, RunStatus.PENDING, "again", T0)
    assert len(store.list_transitions("acme", run.run_id)) == 1


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ((), RunStatus.COMPLETED),  # pending cannot complete
        ((), RunStatus.RUNNING),  # nor skip validation
        ((RunStatus.CANCELLED,), RunStatus.RUNNING),  # terminal is final
        ((RunStatus.FAILED,), RunStatus.CANCELLED),
    ],
)
def test_illegal_run_transition_raises_and_changes_nothing(
    store: StateStore, run: Run, path: tuple[RunStatus, ...], illegal: RunStatus
) -> None:
    for status in path:
        store.transition_run("acme", run.run_id, status, "setup", T0)
    before = store.list_transitions("acme", run.run_id)

    with pytest.raises(IllegalTransition):
        store.transition_run("acme", run.run_id, illegal, "bad", T0)

    got = store.get_run("acme", run.run_id)
    assert got is not None
    assert got.status == (path[-1] if path else RunStatus.PENDING)
    assert store.list_transitions("acme", run.run_id) == before


def test_failed_run_keeps_its_error_and_records_it(store: StateStore, run: Run) -> None:
    store.transition_run("acme", run.run_id, RunStatus.FAILED, "validation", T0, error="no creds")
    got = store.get_run("acme", run.run_id)
    assert got is not None
    assert (got.status, got.error, got.finished_at) == (RunStatus.FAILED, "no creds", T0)
    last = store.list_transitions("acme", run.run_id)[-1]
    assert (last.to_status, last.reason) == ("failed", "validation: no creds")


# -- steps -------------------------------------------------------------------------


def test_claim_moves_a_pending_step_to_running(store: StateStore, run: Run) -> None:
    claimed = store.claim_step_attempt(run.run_id, "extract", 1, lease(), T0)

    assert claimed is not None
    assert (claimed.status, claimed.attempt, claimed.lease_until, claimed.started_at) == (
        StepStatus.RUNNING,
        1,
        lease(),
        T0,
    )
    assert store.get_steps(run.run_id)["extract"] == claimed
    step_moves = [
        (t.step_id, t.from_status, t.to_status, t.at)
        for t in store.list_transitions("acme", run.run_id)
        if t.step_id is not None
    ]
    assert step_moves == [("extract", "pending", "running", T0)]


def test_duplicate_claim_is_refused_while_the_lease_is_live(store: StateStore, run: Run) -> None:
    assert store.claim_step_attempt(run.run_id, "extract", 1, lease(60), T0)
    later = T0 + timedelta(seconds=59)
    assert store.claim_step_attempt(run.run_id, "extract", 1, lease(120), later) is None
    assert store.get_steps(run.run_id)["extract"].lease_until == lease(60)


def test_claim_note_is_logged_only_when_the_claim_is_granted(store: StateStore, run: Run) -> None:
    assert store.claim_step_attempt(run.run_id, "extract", 1, lease(60), T0, note="started")
    refused = store.claim_step_attempt(run.run_id, "extract", 1, lease(60), T0, note="again")
    assert refused is None
    logs = store.list_logs("acme", run.run_id)
    assert [(e.step_id, e.level, e.message, e.at) for e in logs] == [
        ("extract", "INFO", "started", T0)
    ]


def test_attempt_is_reclaimed_after_its_lease_expires(store: StateStore, run: Run) -> None:
    store.claim_step_attempt(run.run_id, "extract", 1, lease(60), T0)
    transitions = len(store.list_transitions("acme", run.run_id))

    reclaimed = store.claim_step_attempt(run.run_id, "extract", 1, lease(200), lease(60))

    assert reclaimed is not None
    assert (reclaimed.attempt, reclaimed.lease_until, reclaimed.started_at) == (1, lease(200), T0)
    assert len(store.list_transitions("acme", run.run_id)) == transitions  # still running


def test_finish_records_the_outcome_exactly_once(store: StateStore, run: Run) -> None:
    store.claim_step_attempt(run.run_id, "extract", 1, lease(), T0)
    done = T0 + timedelta(seconds=5)

    assert store.finish_step_attempt(
        run.run_id, "extract", 1, StepStatus.SUCCEEDED, done, rows_written=42, metrics={"s": 1.5}
    )
    assert not store.finish_step_attempt(
        run.run_id, "extract", 1, StepStatus.FAILED, done, error="dup"
    )

    step = store.get_steps(run.run_id)["extract"]
    assert (step.status, step.rows_written, step.metrics, step.error) == (
        StepStatus.SUCCEEDED,
        42,
        {"s": 1.5},
        None,
    )
    assert (step.finished_at, step.lease_until) == (done, None)
    last = store.list_transitions("acme", run.run_id)[-1]
    assert (last.step_id, last.from_status, last.to_status, last.at) == (
        "extract",
        "running",
        "succeeded",
        done,
    )
    assert last.reason


def test_finished_attempt_cannot_be_claimed_again(store: StateStore, run: Run) -> None:
    store.claim_step_attempt(run.run_id, "extract", 1, lease(), T0)
    store.finish_step_attempt(run.run_id, "extract", 1, StepStatus.SUCCEEDED, T0)
    assert store.claim_step_attempt(run.run_id, "extract", 1, lease(), lease(999)) is None
    assert store.claim_step_attempt(run.run_id, "extract", 2, lease(), lease(999)) is None


def test_failure_reason_includes_the_error(store: StateStore, run: Run) -> None:
    store.claim_step_attempt(run.run_id, "extract", 1, lease(), T0)
    assert store.finish_step_attempt(
        run.run_id, "extract", 1, StepStatus.FAILED, T0, error="HTTP 403 from provider"
    )
    step = store.get_steps(run.run_id)["extract"]
    assert (step.status, step.error) == (StepStatus.FAILED, "HTTP 403 from provider")
    assert "HTTP 403 from provider" in store.list_transitions("acme", run.run_id)[-1].reason


def test_retry_path(store: StateStore, run: Run) -> None:
    store.claim_step_attempt(run.run_id, "extract", 1, lease(), T0)
    transitions = len(store.list_transitions("acme", run.run_id))

    # Attempt 1 fails, to be retried: still running, error noted, lease given up.
    assert store.finish_step_attempt(run.run_id, "extract", 1, None, T0, error="timeout")
    step = store.get_steps(run.run_id)["extract"]
    assert (step.status, step.attempt, step.error, step.lease_until) == (
        StepStatus.RUNNING,
        1,
        "timeout",
        None,
    )
    assert not store.finish_step_attempt(run.run_id, "extract", 1, None, T0, error="dup")
    assert store.claim_step_attempt(run.run_id, "extract", 1, lease(), T0) is None  # reported

    retry = store.claim_step_attempt(run.run_id, "extract", 2, lease(90), T0)
    assert retry is not None
    assert (retry.status, retry.attempt, retry.lease_until) == (StepStatus.RUNNING, 2, lease(90))
    assert store.finish_step_attempt(run.run_id, "extract", 2, StepStatus.SUCCEEDED, T0)

    step = store.get_steps(run.run_id)["extract"]
    assert (step.status, step.attempt, step.error) == (StepStatus.SUCCEEDED, 2, None)
    assert len(store.list_transitions("acme", run.run_id)) == transitions + 1


def test_late_outcome_of_a_superseded_attempt_is_ignored(store: StateStore, run: Run) -> None:
    store.claim_step_attempt(run.run_id, "extract", 1, lease(), T0)
    # A retry takes over even while attempt 1's lease is live (its runner is presumed lost).
    assert store.claim_step_attempt(run.run_id, "extract", 2, lease(), T0) is not None

    assert not store.finish_step_attempt(run.run_id, "extract", 1, StepStatus.SUCCEEDED, T0)
    assert store.claim_step_attempt(run.run_id, "extract", 1, lease(), lease(999)) is None

    step = store.get_steps(run.run_id)["extract"]
    assert (step.status, step.attempt) == (StepStatus.RUNNING, 2)


def test_finish_without_a_claim_is_ignored(store: StateStore, run: Run) -> None:
    assert not store.finish_step_attempt(run.run_id, "extract", 1, StepStatus.SUCCEEDED, T0)
    assert store.get_steps(run.run_id)["extract"].status == StepStatus.PENDING


def test_finish_with_an_illegal_target_raises(store: StateStore, run: Run) -> None:
    store.claim_step_attempt(run.run_id, "extract", 1, lease(), T0)
    with pytest.raises(IllegalTransition):
        store.finish_step_attempt(run.run_id, "extract", 1, StepStatus.PENDING, T0)
    # Nothing was recorded, so the real outcome still lands.
    assert store.finish_step_attempt(run.run_id, "extract", 1, StepStatus.SUCCEEDED, T0)


def test_terminal_step_cannot_be_claimed(store: StateStore, run: Run) -> None:
    assert store.transition_step(run.run_id, "load", StepStatus.SKIPPED, "upstream failed", T0)
    assert store.claim_step_attempt(run.run_id, "load", 1, lease(), T0) is None


def test_step_transitions(store: StateStore, run: Run) -> None:
    assert store.transition_step(run.run_id, "load", StepStatus.CANCELLED, "run cancelled", T0)
    assert not store.transition_step(run.run_id, "load", StepStatus.CANCELLED, "again", T0)
    with pytest.raises(IllegalTransition):
        store.transition_step(run.run_id, "load", StepStatus.RUNNING, "revive", T0)

    step = store.get_steps(run.run_id)["load"]
    assert (step.status, step.finished_at) == (StepStatus.CANCELLED, T0)
    last = store.list_transitions("acme", run.run_id)[-1]
    assert (last.step_id, last.from_status, last.to_status, last.reason, last.at) == (
        "load",
        "pending",
        "cancelled",
        "run cancelled",
        T0,
    )


def test_unknown_step_is_not_found(store: StateStore, run: Run) -> None:
    with pytest.raises(NotFound):
        store.claim_step_attempt(run.run_id, "nope", 1, lease(), T0)
    with pytest.raises(NotFound):
        store.finish_step_attempt(run.run_id, "nope", 1, StepStatus.SUCCEEDED, T0)
    with pytest.raises(NotFound):
        store.transition_step(run.run_id, "nope", StepStatus.SKIPPED, "x", T0)


# -- logs --------------------------------------------------------------------------


def test_logs_are_listed_in_order(store: StateStore, run: Run) -> None:
    store.append_log(run.run_id, None, "INFO", "run started", T0)
    store.append_log(run.run_id, "extract", "WARNING", "slow provider", T0 + timedelta(seconds=1))

    logs = store.list_logs("acme", run.run_id)

    assert [(e.step_id, e.level, e.message, e.at) for e in logs] == [
        (None, "INFO", "run started", T0),
        ("extract", "WARNING", "slow provider", T0 + timedelta(seconds=1)),
    ]


def test_log_for_an_unknown_run_is_not_found(store: StateStore) -> None:
    with pytest.raises(NotFound):
        store.append_log("nope", None, "INFO", "orphan", T0)
