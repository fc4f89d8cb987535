"""Backfill: one run per day, its own concurrency cap, reprocess policies, progress."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.models import Run, StepRun
from shared.domain.states import RunStatus
from shared.handlers import backfill
from tests.support.runtime import make_runtime, new_org, write_configs

PIPELINES: dict[str, dict[str, Any]] = {
    "subscription/costs/daily": {
        "pipeline_id": "daily",
        "name": "daily",
        "provider": "subscription",
        "domain": "costs",
        "version": "1.0.0",
        "parameters": {"region": {"type": "string", "choices": ["eu", "us"], "default": "eu"}},
        "steps": [{"step_id": "only", "ps_type": "test.record", "config": {"sleep_seconds": 0.1}}],
    },
}
PATH = "/api/v1/pipelines/backfill/acme/subscription/costs/daily"


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_configs(tmp_path_factory.mktemp("backfill"), PIPELINES)


@pytest.fixture
def runtime(tmp_path: Path, configs: Path, session_warehouse: Any) -> Iterator[EmbeddedRuntime]:
    with make_runtime(tmp_path, configs, warehouse=session_warehouse) as rt:
        yield rt


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
        Run(
            run_id=run_id,
            org_slug="acme",
            pipeline_ref="subscription/costs/daily",
            pipeline_id="daily",
            provider="subscription",
            status=RunStatus.PENDING,
            trigger="api",
            start_date=day,
            end_date=day,
            credential_id="internal",
            parameters={},
            created_at=now,
            steps={"only": StepRun(run_id=run_id, step_id="only")},
        ),
        now,
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
    body = {"start_date": "2026-01-01", "end_date": "2026-01-02"}
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
        ({"end_date": "2026-01-02"}, "start_date"),
        ({"start_date": "2026-01-01"}, "end_date"),
        ({"start_date": "2026-01-05", "end_date": "2026-01-01"}, "start_date"),
        ({"start_date": "2025-01-01", "end_date": "2026-01-02"}, "end_date"),
        ({"start_date": "2026-01-01", "end_date": "2026-01-02", "reprocess": "some"}, "reprocess"),
        (
            {"start_date": "2026-01-01", "end_date": "2026-01-02", "max_concurrent": 0},
            "max_concurrent",
        ),
        (
            {"start_date": "2026-01-01", "end_date": "2026-01-02", "max_concurrent": 11},
            "max_concurrent",
        ),
        (
            {"start_date": "2026-01-01", "end_date": "2026-01-02", "parameters": {"region": "x"}},
            "parameters.region",
        ),
        ({"start_date": "2026-01-01", "end_date": "2026-01-02", "speed": 1}, "speed"),
    ],
)
def test_backfill_bad_input_is_400_naming_the_field(
    client: FlaskClient,
    runtime: EmbeddedRuntime,
    keys: dict[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    response = client.post(PATH, json=body, headers={"X-API-Key": keys["acme"]})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["details"]["field"] == field
    assert runtime.services.store.list_runs("acme") == []
