"""The HTTP function through functions-framework's real app (Flask test client)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import functions_framework
import pytest
from flask.testing import FlaskClient

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.quota import SubscriptionStatus
from tests.support.runtime import REPO, make_runtime, new_org, record_pipeline, write_configs

PIPELINES: dict[str, dict[str, Any]] = {
    "subscription/costs/quick": {
        "pipeline_id": "quick",
        "name": "quick",
        "provider": "subscription",
        "domain": "costs",
        "version": "1.0.0",
        "parameters": {"region": {"type": "string", "choices": ["eu", "us"], "default": "eu"}},
        "steps": [{"step_id": "only", "ps_type": "test.record", "config": {}}],
    },
    "subscription/costs/blocking": record_pipeline("blocking", "wait", {"sleep_seconds": 1.0}),
}


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_configs(tmp_path_factory.mktemp("api"), PIPELINES)


@pytest.fixture
def runtime(tmp_path: Path, configs: Path, session_warehouse: Any) -> Iterator[EmbeddedRuntime]:
    with make_runtime(tmp_path, configs, warehouse=session_warehouse) as rt:
        yield rt


@pytest.fixture
def client(runtime: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    app = functions_framework.create_app(target="api", source=str(REPO / "functions/api/main.py"))
    monkeypatch.setattr(sys.modules["main"], "_services", lambda: runtime.services)
    test_client: FlaskClient = app.test_client()
    return test_client


@pytest.fixture
def acme(runtime: EmbeddedRuntime) -> str:
    return new_org(runtime, "acme")[1]


def _run(
    client: FlaskClient,
    key: str,
    org: str = "acme",
    pipeline: str = "quick",
    body: Any = None,
    **kwargs: Any,
) -> Any:
    return client.post(
        f"/api/v1/pipelines/run/{org}/subscription/costs/{pipeline}",
        json=body if body is not None else {"date": "2026-10-01"},
        headers={"X-API-Key": key},
        **kwargs,
    )


def test_health(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_run_returns_202_and_status_shows_completion(
    client: FlaskClient, acme: str, runtime: EmbeddedRuntime
) -> None:
    response = _run(
        client,
        acme,
        body={"start_date": "2026-10-01", "end_date": "2026-10-02", "parameters": {"region": "us"}},
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "running"
    assert runtime.bus.drain(10)
    status = client.get(
        f"/api/v1/pipelines/status/acme/{body['run_id']}", headers={"X-API-Key": acme}
    )
    assert status.status_code == 200
    run = status.get_json()
    assert run["status"] == "completed"
    assert run["parameters"] == {"region": "us"}
    assert [s["status"] for s in run["steps"]] == ["succeeded"]


def test_history_pages_and_filters(
    client: FlaskClient, acme: str, runtime: EmbeddedRuntime
) -> None:
    for day in ("2026-10-01", "2026-10-02", "2026-10-03"):
        assert _run(client, acme, body={"date": day}).status_code == 202
        assert runtime.bus.drain(10)
    first = client.get("/api/v1/pipelines/history/acme?limit=2", headers={"X-API-Key": acme})
    page = first.get_json()
    assert [r["start_date"] for r in page["runs"]] == ["2026-10-03", "2026-10-02"]
    assert page["next_before"]
    second = client.get(
        "/api/v1/pipelines/history/acme",
        query_string={"limit": 2, "before": page["next_before"]},
        headers={"X-API-Key": acme},
    ).get_json()
    assert [r["start_date"] for r in second["runs"]] == ["2026-10-01"]
    assert second["next_before"] is None
    failed = client.get(
        "/api/v1/pipelines/history/acme?status=failed", headers={"X-API-Key": acme}
    ).get_json()
    assert failed["runs"] == []


@pytest.mark.parametrize("key", ["", "pk_acme_wrong", None])
def test_wrong_or_missing_key_is_401(client: FlaskClient, acme: str, key: str | None) -> None:
    headers = {} if key is None else {"X-API-Key": key}
    response = client.post(
        "/api/v1/pipelines/run/acme/subscription/costs/quick", json={}, headers=headers
    )
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_other_orgs_key_is_401_and_other_orgs_run_is_404(
    client: FlaskClient, acme: str, runtime: EmbeddedRuntime
) -> None:
    _, globex = new_org(runtime, "globex")
    run_id = _run(client, acme).get_json()["run_id"]
    assert runtime.bus.drain(10)
    # globex's key cannot act as acme
    assert (
        client.get(
            f"/api/v1/pipelines/status/acme/{run_id}", headers={"X-API-Key": globex}
        ).status_code
        == 401
    )
    # globex asking for acme's run under its own org: not found, not forbidden
    response = client.get(
        f"/api/v1/pipelines/status/globex/{run_id}", headers={"X-API-Key": globex}
    )
    assert response.status_code == 404
    history = client.get("/api/v1/pipelines/history/globex", headers={"X-API-Key": globex})
    assert history.get_json()["runs"] == []


def test_unknown_pipeline_is_404_naming_it(client: FlaskClient, acme: str) -> None:
    response = _run(client, acme, pipeline="nope")
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["message"] == "Pipeline not found: subscription/costs/nope"
    assert "subscription/costs/quick" in error["details"]["available"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date": "2026-13-01"}, "date"),
        ({"date": "2026-10-01", "start_date": "2026-10-01"}, "date"),
        ({"start_date": "2026-10-05", "end_date": "2026-10-01"}, "start_date"),
        ({"start_date": "2026-10-01"}, "end_date"),
        # top-level fields beside the window are parameters (as the product's clients send)
        ({"date": "2026-10-01", "colour": "red"}, "parameters.colour"),
        ({"date": "2026-10-01", "parameters": {"region": "mars"}}, "parameters.region"),
        ({"date": "2026-10-01", "parameters": {"unknown": 1}}, "parameters.unknown"),
        ({"date": "2026-10-01", "parameters": []}, "parameters"),
    ],
)
def test_bad_body_is_400_naming_the_field(
    client: FlaskClient, acme: str, runtime: EmbeddedRuntime, body: Any, field: str
) -> None:
    response = _run(client, acme, body=body)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["details"]["field"] == field
    assert runtime.services.store.list_runs("acme") == []  # nothing written


def test_malformed_json_and_non_object_are_400(client: FlaskClient, acme: str) -> None:
    for data in (b"{not json", b"[1, 2]"):
        response = client.post(
            "/api/v1/pipelines/run/acme/subscription/costs/quick",
            data=data,
            headers={"X-API-Key": acme},
            content_type="application/json",
        )
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "bad_request"


def test_huge_body_is_413(client: FlaskClient, acme: str) -> None:
    response = _run(client, acme, body={"date": "2026-10-01", "parameters": {"x": "a" * 70_000}})
    assert response.status_code == 413


def test_concurrent_limit_is_429_naming_the_limit(
    client: FlaskClient, runtime: EmbeddedRuntime
) -> None:
    _, key = new_org(runtime, "tiny", plan="starter")  # one concurrent run
    assert _run(client, key, org="tiny", pipeline="blocking").status_code == 202
    refused = _run(client, key, org="tiny", pipeline="blocking")
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["details"]["limit"] == "concurrent"
    assert error["message"] == "Concurrent pipeline limit reached"
    assert runtime.bus.drain(10)
    assert _run(client, key, org="tiny", pipeline="blocking").status_code == 202  # slot freed
    assert runtime.bus.drain(10)


def test_suspended_subscription_is_403(client: FlaskClient, runtime: EmbeddedRuntime) -> None:
    _, key = new_org(runtime, "frozen", status=SubscriptionStatus.SUSPENDED)
    response = _run(client, key, org="frozen")
    assert response.status_code == 403
    assert "SUSPENDED" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/pipelines/run/..%2f..%2fetc/subscription/costs/quick",
        "/api/v1/pipelines/run/ACME;DROP/subscription/costs/quick",
    ],
)
def test_hostile_org_in_path_is_rejected(client: FlaskClient, acme: str, path: str) -> None:
    response = client.post(path, json={}, headers={"X-API-Key": acme})
    assert response.status_code in (400, 401, 404)
    assert "error" in response.get_json()


def test_unknown_route_and_wrong_method(client: FlaskClient) -> None:
    assert client.get("/api/v1/nothing").status_code == 404
    assert client.get("/api/v1/pipelines/run/acme/subscription/costs/quick").status_code == 405
