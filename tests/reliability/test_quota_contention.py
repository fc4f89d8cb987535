"""Quota under contention, over real HTTP: 100 clients at once against one org.

The API is the functions-framework app served by a threaded WSGI server; every client
is its own thread with its own connection, released together. Each test runs on the
embedded state store (SQLite) and on Firestore (the emulator; CI=true fails without it).
Daily and monthly limits are crossed with an injected clock at 23:59:59 -> 00:00:00 UTC.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.adapters.clock import FixedClock
from shared.adapters.firestore.state import FirestoreStateStore
from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.quota import QuotaLimits, QuotaUsage
from shared.domain.states import RunStatus
from tests.support.emulators import firestore_client
from tests.support.live_api import Answer, burst, post, serve_api, statuses
from tests.support.runtime import new_org, record_pipeline

CLIENTS = 100
WINDOW = {"date": "2026-03-08"}
PIPELINES: dict[str, dict[str, Any]] = {
    "subscription/costs/quick": record_pipeline("quick"),
    # Holds its concurrent slot until cancelled (test.record polls should_stop()).
    "subscription/costs/hold": record_pipeline("hold", "wait", {"sleep_seconds": 120}),
}
pytestmark = [
    pytest.mark.warehouse,
    pytest.mark.slow,
    pytest.mark.pipelines(PIPELINES),
    pytest.mark.clock(datetime(2026, 3, 9, 12, 0, tzinfo=UTC)),
]


@dataclasses.dataclass(frozen=True)
class Rig:
    runtime: EmbeddedRuntime
    clock: FixedClock
    kind: str  # sqlite | firestore


@pytest.fixture(params=["sqlite", "firestore"])
def rig(
    request: pytest.FixtureRequest, runtime: EmbeddedRuntime, clock: FixedClock
) -> Iterator[Rig]:
    if request.param == "firestore":
        request.getfixturevalue("clean_firestore")
        runtime.services.store = FirestoreStateStore(firestore_client(), clock=clock)
    yield Rig(runtime, clock, request.param)
    runtime.bus.drain(60)


def _org(rig: Rig, name: str, limits: QuotaLimits) -> tuple[str, str]:
    slug = f"quota_{name}_{rig.kind}"
    org, key = new_org(rig.runtime, slug)
    rig.runtime.services.store.update_org(dataclasses.replace(org, limits=limits))
    return slug, key


def _run_url(base: str, slug: str, pipeline: str) -> str:
    return f"{base}/api/v1/pipelines/run/{slug}/subscription/costs/{pipeline}"


def _refusals(answers: list[Answer]) -> list[dict[str, Any]]:
    return [a.body["error"] for a in answers if a.status == 429]


def _admitted(answers: list[Answer]) -> set[str]:
    return {a.body["run_id"] for a in answers if a.status == 202}


def _stored_run_ids(rig: Rig, slug: str) -> set[str]:
    return {r.run_id for r in rig.runtime.services.store.list_runs(slug, limit=500)}


def test_a_concurrent_limit_admits_exactly_its_n_of_100_simultaneous_requests(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 5
    slug, key = _org(rig, "concurrent", QuotaLimits(daily=1000, monthly=1000, concurrent=n))
    store = rig.runtime.services.store
    with serve_api(rig.runtime.services, monkeypatch) as base:
        answers = burst(_run_url(base, slug, "hold"), WINDOW, key, CLIENTS)

        assert statuses(answers) == {202: n, 429: CLIENTS - n}
        for error in _refusals(answers):
            assert error["code"] == "quota_exceeded"
            assert error["message"] == "Concurrent pipeline limit reached"
            assert error["details"]["limit"] == "concurrent"
            assert (error["details"]["allowed"], error["details"]["used"]) == (n, n)
        admitted = _admitted(answers)
        assert len(admitted) == n
        # Nothing but the admitted runs exists, and they hold exactly n slots.
        assert _stored_run_ids(rig, slug) == admitted
        assert store.quota_usage(slug, rig.clock.now()) == QuotaUsage(n, n, n)

        # Cancelling the runs gives the slots back: the next request is admitted.
        for run_id in admitted:
            cancelled = httpx_cancel(base, slug, run_id, key)
            assert cancelled == 200
        assert store.quota_usage(slug, rig.clock.now()).concurrent == 0
        again = post(_run_url(base, slug, "hold"), WINDOW, key)
        assert again.status == 202
        assert httpx_cancel(base, slug, again.body["run_id"], key) == 200
    assert rig.runtime.bus.drain(60)
    runs = store.list_runs(slug, limit=500)
    assert len(runs) == n + 1
    assert {r.status for r in runs} == {RunStatus.CANCELLED}


def httpx_cancel(base: str, slug: str, run_id: str, key: str) -> int:
    url = f"{base}/api/v1/pipelines/cancel/{slug}/{run_id}"
    return post(url, {"reason": "test over"}, key).status


PERIOD_CLIENTS = 20  # per burst; four bursts cross two midnights and a month end
LIMITS = {"daily": 5, "monthly": 8}


def test_daily_and_monthly_limits_are_used_up_by_the_last_second_and_renew_at_midnight_utc(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """daily 5, monthly 8: Mar 30 takes 5 (daily), Mar 31 only 3 (monthly), the last
    second of March none, and Apr 1 00:00:00 admits a new day's 5."""
    slug, key = _org(rig, "period", QuotaLimits(concurrent=1000, **LIMITS))
    store = rig.runtime.services.store
    moments = [
        # (clock, admitted, the limit that refuses the rest)
        (datetime(2026, 3, 30, 23, 59, 59, tzinfo=UTC), 5, "daily"),
        (datetime(2026, 3, 31, 0, 0, 0, tzinfo=UTC), 3, "monthly"),
        (datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC), 0, "monthly"),
        (datetime(2026, 4, 1, 0, 0, 0, tzinfo=UTC), 5, "daily"),
    ]
    admitted: dict[datetime, set[str]] = {}
    with serve_api(rig.runtime.services, monkeypatch) as base:
        url = _run_url(base, slug, "quick")
        for at, expected, limit in moments:
            rig.clock.set(at)
            answers = burst(url, WINDOW, key, PERIOD_CLIENTS)
            counts = {202: expected, 429: PERIOD_CLIENTS - expected}
            assert statuses(answers) == {k: v for k, v in counts.items() if v}, at
            for error in _refusals(answers):
                named = error["details"]["limit"]
                # Firestore checks slots in order concurrent, daily, monthly: a request
                # that took a daily slot and then met a full month gives the slot back
                # a moment later, so one racing it may be refused on "daily" (documented
                # in firestore_state.py; still never more admitted than allowed).
                assert named == limit or (rig.kind, named, limit) == (
                    "firestore",
                    "daily",
                    "monthly",
                ), error
                allowed = LIMITS[named]
                assert error["message"] == f"{named.capitalize()} pipeline limit reached"
                assert error["details"] == {"limit": named, "allowed": allowed, "used": allowed}
            admitted[at] = _admitted(answers)

    assert rig.runtime.bus.drain(60)
    assert _stored_run_ids(rig, slug) == set().union(*admitted.values())
    runs = store.list_runs(slug, limit=500)
    assert {r.status for r in runs} == {RunStatus.COMPLETED}
    by_time = {at: {r.run_id for r in runs if r.created_at == at} for at, _, _ in moments}
    assert by_time == admitted
    # Each UTC day and month bucket holds exactly its own admissions.
    assert store.quota_usage(slug, moments[0][0]) == QuotaUsage(5, 8, 0)
    assert store.quota_usage(slug, moments[2][0]) == QuotaUsage(3, 8, 0)
    assert store.quota_usage(slug, moments[3][0]) == QuotaUsage(5, 5, 0)
