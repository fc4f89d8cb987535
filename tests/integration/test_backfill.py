"""Backfill: one run per day, its own concurrency cap, reprocess policies, progress."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.models import Run
from shared.domain.states import RunStatus
from shared.handlers import backfill
from tests.support.runtime import REGION, new_org, record_pipeline, stored_run

PIPELINES: dict[str, dict[str, Any]] = {
    "subscription/costs/daily": record_pipeline(
        "daily", config={"sleep_seconds": 1.0}, parameters=REGION
    ),
}
PATH = "/api/v1/pipelines/backfill/acme/subscription/costs/daily"
JANUARY_1_2 = {"start_date": "2026-01-01", "end_date": "2026-01-02"}
pytestmark = pytest.mark.pipelines(PIPELINES)


@pytest.fixture
def keys(runtime: EmbeddedRuntime) -> dict[str, str]:
    return {slug: new_org(runtime, slug, plan="scale")[1] for slug in ("acme", "globex")}


def _max_overlap(runs: list[Run]) -> int:
    """Most runs in flight at once, from their created/finished times."""
    edges = sorted(
        [(r.created_at, 1) for r in runs] + [(r.finished_at, -1) for r in runs if r.finished_at],
        key=lambda e: (e[0], e[1]),  # a finish at the same instant frees before a start
    )
    level = peak = 0
    for _, step in edges:
        level += step
        peak = max(peak, level)
    return peak


def test_31_days_one_run_per_day_within_the_cap(
    client: FlaskClient, runtime: EmbeddedRuntime, keys: dict[str, str]
) -> None:
    response = client.post(
        PATH,
        json={"start_date": "2026-01-01", "end_date": "2026-01-31", "max_concurrent": 3},
        headers={"X-API-Key": keys["acme"]},
    )
    assert response.status_code == 202, response.get_json()
    started = response.get_json()
    assert started["counts"]["in_flight"] == 3
    backfill_id = started["backfill_id"]
    peak_sampled = 0
    deadline = time.monotonic() + 60
    while True:
        current = backfill.advance(runtime.services, "acme", backfill_id)
        peak_sampled = max(peak_sampled, current.counts()["in_flight"])
        if current.done:
            break
        assert time.monotonic() < deadline, current.counts()
        time.sleep(0.02)
    runs = runtime.services.store.list_runs("acme", limit=100)
    assert len(runs) == 31
    assert sorted(r.start_date for r in runs) == [
        date(2026, 1, 1) + timedelta(days=i) for i in range(31)
    ]
    assert all(r.start_date == r.end_date and r.trigger == "backfill" for r in runs)
    assert all(r.status is RunStatus.COMPLETED for r in runs)
    assert peak_sampled <= 3
    assert 2 <= _max_overlap(runs) <= 3  # observed from the runs' own timestamps

    final = client.get(
        f"/api/v1/pipelines/backfill/acme/{backfill_id}", headers={"X-API-Key": keys["acme"]}
    )
    body = final.get_json()
    assert body["done"] is True
    assert body["counts"] == {
        "days": 31,
        "skipped": 0,
        "to_dispatch": 0,
        "in_flight": 0,
        "completed": 31,
        "failed": 0,
        "cancelled": 0,
    }
    assert {d["run_id"] for d in body["days"]} == {r.run_id for r in runs}
    # advancing a finished backfill dispatches nothing more
    backfill.advance(runtime.services, "acme", backfill_id)
    assert len(runtime.services.store.list_runs("acme", limit=100)) == 31


def _prior_run(runtime: EmbeddedRuntime, run_id: str, day: date, status: RunStatus) -> None:
    store, now = runtime.services.store, datetime.now(UTC)
    store.create_run(
        stored_run(run_id, "subscription/costs/daily", ["only"], now, days=(day, day)), now
    )
    store.transition_run("acme", run_id, RunStatus.VALIDATING, "test", now)
    if status is RunStatus.COMPLETED:
        store.transition_run("acme", run_id, RunStatus.RUNNING, "test", now)
    store.transition_run("acme", run_id, status, "test", now)


@pytest.mark.parametrize(
    ("policy", "days_run"),
    [("none", [2, 3, 4]), ("failed", [2]), ("all", [1, 2, 3, 4])],
)
def test_reprocess_policy_picks_the_days(
    runtime: EmbeddedRuntime, keys: dict[str, str], policy: str, days_run: list[int]
) -> None:
    _prior_run(runtime, "done-1", date(2026, 2, 1), RunStatus.COMPLETED)
    _prior_run(runtime, "failed-2", date(2026, 2, 2), RunStatus.FAILED)
    org = runtime.services.store.get_org("acme")
    assert org is not None
    started = backfill.start_backfill(
        runtime.services,
        org,
        "subscription",
        "costs",
        "daily",
        {"start_date": "2026-02-01", "end_date": "2026-02-04", "reprocess": policy},
    )
    assert sorted(d.day for d in started.backfill.days) == days_run
    assert len(started.backfill.days) + len(started.backfill.skipped) == 4
    assert runtime.bus.drain(10)


def test_backfill_auth_wrong_org(
    client: FlaskClient, runtime: EmbeddedRuntime, keys: dict[str, str]
) -> None:
    body = JANUARY_1_2
    assert client.post(PATH, json=body).status_code == 401
    assert client.post(PATH, json=body, headers={"X-API-Key": keys["globex"]}).status_code == 401
    started = client.post(PATH, json=body, headers={"X-API-Key": keys["acme"]}).get_json()
    assert runtime.bus.drain(10)
    path = f"/api/v1/pipelines/backfill/globex/{started['backfill_id']}"
    other = client.get(path, headers={"X-API-Key": keys["globex"]})
    assert other.status_code == 404
    assert "days" not in other.get_json()
    own = client.get(f"/api/v1/pipelines/backfill/acme/{started['backfill_id']}")
    assert own.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**JANUARY_1_2, "reprocess": "some"}, "reprocess"),
        ({**JANUARY_1_2, "max_concurrent": 0}, "max_concurrent"),
        ({**JANUARY_1_2, "max_concurrent": 11}, "max_concurrent"),
        ({**JANUARY_1_2, "parameters": {"region": "x"}}, "parameters.region"),
        ({**JANUARY_1_2, "speed": 1}, "speed"),
        ({"end_date": "2026-01-02"}, "start_date"),
        ({"start_date": "2026-01-01"}, "end_date"),
        ({"start_date": "2026-01-05", "end_date": "2026-01-01"}, "start_date"),
        ({"start_date": "2025-01-01", "end_date": "2026-01-02"}, "end_date"),
    ],
)
def test_backfill_bad_input_is_400_naming_the_field(
    body: dict[str, Any],
    field: str,
    client: FlaskClient,
    runtime: EmbeddedRuntime,
    keys: dict[str, str],
) -> None:
    response = client.post(PATH, json=body, headers={"X-API-Key": keys["acme"]})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["details"]["field"] == field
    assert runtime.services.store.list_runs("acme") == []
