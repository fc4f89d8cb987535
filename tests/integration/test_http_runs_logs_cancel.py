"""Runs by key, logs, transitions, download and cancel over the real HTTP app."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.states import StepStatus
from tests.support.runtime import make_runtime, new_org, record_pipeline, write_configs

PIPELINES: dict[str, dict[str, Any]] = {
    "subscription/costs/quick": record_pipeline("quick"),
    "subscription/costs/slow": {
        "pipeline_id": "slow",
        "name": "slow",
        "provider": "subscription",
        "domain": "costs",
        "version": "1.0.0",
        "steps": [
            {"step_id": "wait", "ps_type": "test.record", "config": {"sleep_seconds": 60}},
            {"step_id": "after", "ps_type": "test.record", "depends_on": ["wait"]},
        ],
    },
}


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_configs(tmp_path_factory.mktemp("ops"), PIPELINES)


@pytest.fixture
def runtime(tmp_path: Path, configs: Path, session_warehouse: Any) -> Iterator[EmbeddedRuntime]:
    with make_runtime(tmp_path, configs, warehouse=session_warehouse) as rt:
        yield rt


@pytest.fixture
def keys(runtime: EmbeddedRuntime) -> dict[str, str]:
    return {slug: new_org(runtime, slug)[1] for slug in ("acme", "globex")}


def _start(client: FlaskClient, key: str, pipeline: str = "quick", day: str = "2026-10-01") -> str:
    response = client.post(
        f"/api/v1/pipelines/run/acme/subscription/costs/{pipeline}",
        json={"date": day},
        headers={"X-API-Key": key},
    )
    assert response.status_code == 202, response.get_json()
    run_id: str = response.get_json()["run_id"]
    return run_id


def _get(client: FlaskClient, path: str, key: str | None, **query: Any) -> Any:
    headers = {} if key is None else {"X-API-Key": key}
    return client.get(path, headers=headers, query_string=query)


def test_runs_of_the_keys_org_page_with_a_cursor(
    client: FlaskClient, runtime: EmbeddedRuntime, keys: dict[str, str]
) -> None:
    days = [f"2026-10-0{d}" for d in range(1, 6)]
    for day in days:
        _start(client, keys["acme"], day=day)
    assert runtime.bus.drain(10)
    seen: list[str] = []
    query: dict[str, Any] = {"limit": 2}
    while True:
        page = _get(client, "/api/v1/pipelines/runs", keys["acme"], **query).get_json()
        seen += [r["start_date"] for r in page["runs"]]
        if page["next_cursor"] is None:
            break
        query = {"limit": 2, "cursor": page["next_cursor"]}
    assert seen == days[::-1]
    assert _get(client, "/api/v1/pipelines/runs", keys["globex"]).get_json()["runs"] == []
    filtered = _get(client, "/api/v1/pipelines/runs", keys["acme"], status="completed")
    assert len(filtered.get_json()["runs"]) == 5


def test_run_detail_is_scoped_to_the_keys_org(
    client: FlaskClient, runtime: EmbeddedRuntime, keys: dict[str, str]
) -> None:
    run_id = _start(client, keys["acme"])
    assert runtime.bus.drain(10)
    mine = _get(client, f"/api/v1/pipelines/runs/{run_id}", keys["acme"])
    assert mine.status_code == 200
    assert mine.get_json()["status"] == "completed"
    theirs = _get(client, f"/api/v1/pipelines/runs/{run_id}", keys["globex"])
    assert theirs.status_code == 404
    assert theirs.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("key", [None, "", "pk_acme_short", "pk_acme_" + "x" * 43])
def test_runs_without_a_valid_key_are_401(
    client: FlaskClient, keys: dict[str, str], key: str | None
) -> None:
    for path in ("/api/v1/pipelines/runs", "/api/v1/pipelines/runs/some-run"):
        response = _get(client, path, key)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": "0"}, "limit"), ({"status": "done"}, "status"), ({"cursor": "%%%"}, "cursor")],
)
def test_runs_bad_query_is_400_naming_the_field(
    client: FlaskClient, keys: dict[str, str], query: dict[str, str], field: str
) -> None:
    response = _get(client, "/api/v1/pipelines/runs", keys["acme"], **query)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["field"] == field


def test_logs_steps_transitions_and_download(
    client: FlaskClient, runtime: EmbeddedRuntime, keys: dict[str, str]
) -> None:
    run_id = _start(client, keys["acme"])
    assert runtime.bus.drain(10)
    base = f"/api/v1/pipelines/logs/acme/{run_id}"
    logs = _get(client, base, keys["acme"]).get_json()["logs"]
    assert [e["message"] for e in logs] == [
        "attempt 1 started (test.record)",
        "attempt 1 succeeded: 1 rows",
    ]
    steps = _get(client, f"{base}/steps", keys["acme"]).get_json()["steps"]
    assert [(s["step_id"], s["status"]) for s in steps] == [("only", "succeeded")]
    transitions = _get(client, f"{base}/transitions", keys["acme"]).get_json()["transitions"]
    run_moves = [t["to_status"] for t in transitions if t["step_id"] is None]
    assert run_moves == ["pending", "validating", "running", "completed"]
    download = _get(client, f"{base}/download", keys["acme"])
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == f'attachment; filename="{run_id}.log"'
    assert download.mimetype == "text/plain"
    text = download.get_data(as_text=True)
    assert text.startswith(f"# run {run_id} subscription/costs/quick completed\n")
    assert "[only] attempt 1 succeeded: 1 rows" in text


@pytest.mark.parametrize("suffix", ["", "/steps", "/transitions", "/download"])
def test_logs_auth_wrong_org_and_bad_input(
    client: FlaskClient, runtime: EmbeddedRuntime, keys: dict[str, str], suffix: str
) -> None:
    run_id = _start(client, keys["acme"])
    assert runtime.bus.drain(10)
    path = f"/api/v1/pipelines/logs/acme/{run_id}{suffix}"
    assert _get(client, path, None).status_code == 401
    assert _get(client, path, keys["globex"]).status_code == 401  # globex's key as acme
    # globex, under its own org, asking for acme's run: not found, nothing leaked
    other = _get(client, f"/api/v1/pipelines/logs/globex/{run_id}{suffix}", keys["globex"])
    assert other.status_code == 404
    assert run_id not in str(other.get_json()["error"]["details"].get("logs", ""))
    bad = _get(client, f"/api/v1/pipelines/logs/Bad-Org/{run_id}{suffix}", keys["acme"])
    assert bad.status_code == 400
    assert bad.get_json()["error"]["details"]["field"] == "org_slug"


def _wait_for_step(runtime: EmbeddedRuntime, run_id: str, step: str, status: StepStatus) -> None:
    deadline = time.monotonic() + 10
    while runtime.services.store.get_steps(run_id)[step].status is not status:
        assert time.monotonic() < deadline, "step never reached " + status
        time.sleep(0.02)


def test_cancel_stops_running_skips_pending_and_frees_the_slot(
    client: FlaskClient, runtime: EmbeddedRuntime, keys: dict[str, str]
) -> None:
    store = runtime.services.store
    run_id = _start(client, keys["acme"], pipeline="slow")
    _wait_for_step(runtime, run_id, "wait", StepStatus.RUNNING)
    assert store.quota_usage("acme", runtime.services.clock.now()).concurrent == 1
    started = time.monotonic()
    response = client.post(
        f"/api/v1/pipelines/cancel/acme/{run_id}",
        json={"reason": "wrong dates"},
        headers={"X-API-Key": keys["acme"]},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "cancelled"
    assert {s["step_id"]: s["status"] for s in body["steps"]} == {
        "wait": "cancelled",
        "after": "skipped",
    }
    assert store.quota_usage("acme", runtime.services.clock.now()).concurrent == 0
    # The 60 s processor noticed the cancel at its next check and returned.
    assert runtime.bus.drain(10)
    assert time.monotonic() - started < 10
    run = store.get_run("acme", run_id)
    assert run is not None
    assert run.status.value == "cancelled"
    assert run.steps["wait"].status is StepStatus.CANCELLED  # its late outcome was ignored
    reasons = [
        t.reason for t in store.list_transitions("acme", run_id) if t.to_status == "cancelled"
    ]
    assert reasons == ["cancelled: wrong dates", "cancelled: wrong dates"]
    again = client.post(
        f"/api/v1/pipelines/cancel/acme/{run_id}", headers={"X-API-Key": keys["acme"]}
    )
    assert again.status_code == 409
    assert again.get_json()["error"]["details"]["status"] == "cancelled"


def test_cancel_auth_wrong_org_and_bad_input(
    client: FlaskClient, runtime: EmbeddedRuntime, keys: dict[str, str]
) -> None:
    run_id = _start(client, keys["acme"], pipeline="slow")
    path = f"/api/v1/pipelines/cancel/acme/{run_id}"
    assert client.post(path).status_code == 401
    assert client.post(path, headers={"X-API-Key": keys["globex"]}).status_code == 401
    other = client.post(
        f"/api/v1/pipelines/cancel/globex/{run_id}", headers={"X-API-Key": keys["globex"]}
    )
    assert other.status_code == 404
    for body, field in (({"reason": ""}, "reason"), ({"why": "x"}, "why")):
        bad = client.post(path, json=body, headers={"X-API-Key": keys["acme"]})
        assert bad.status_code == 400
        assert bad.get_json()["error"]["details"]["field"] == field
    run = runtime.services.store.get_run("acme", run_id)
    assert run is not None
    assert not run.status.terminal  # none of the refused calls touched it
    ok = client.post(path, headers={"X-API-Key": keys["acme"]})
    assert ok.status_code == 200
    assert runtime.bus.drain(10)


def test_cancelling_a_finished_run_is_409(
    client: FlaskClient, runtime: EmbeddedRuntime, keys: dict[str, str]
) -> None:
    run_id = _start(client, keys["acme"])
    assert runtime.bus.drain(10)
    response = client.post(
        f"/api/v1/pipelines/cancel/acme/{run_id}", headers={"X-API-Key": keys["acme"]}
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["details"]["status"] == "completed"
