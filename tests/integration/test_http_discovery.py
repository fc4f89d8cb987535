"""Discovery endpoints: the catalog with parameters, and validate-without-reserving."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.quota import SubscriptionStatus
from tests.support.runtime import make_runtime, new_org, write_configs

PIPELINES: dict[str, dict[str, Any]] = {
    "subscription/costs/quick": {
        "pipeline_id": "quick",
        "name": "Quick",
        "description": "one step",
        "provider": "subscription",
        "domain": "costs",
        "version": "1.2.0",
        "schedule": "0 4 * * *",
        "parameters": {
            "region": {"type": "string", "choices": ["eu", "us"], "default": "eu"},
            "depth": {"type": "integer", "required": True, "description": "how deep"},
        },
        "steps": [{"step_id": "only", "ps_type": "test.record", "config": {}}],
    },
    "openai/payg/usage": {
        "pipeline_id": "openai_usage",
        "name": "OpenAI usage",
        "provider": "openai",
        "domain": "payg",
        "version": "1.0.0",
        "steps": [{"step_id": "only", "ps_type": "test.record", "config": {}}],
    },
    "openai/payg/broken": {"pipeline_id": "broken", "name": "x"},
}


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_configs(tmp_path_factory.mktemp("discovery"), PIPELINES)


@pytest.fixture
def runtime(tmp_path: Path, configs: Path, session_warehouse: Any) -> Iterator[EmbeddedRuntime]:
    with make_runtime(tmp_path, configs, warehouse=session_warehouse) as rt:
        yield rt


def test_catalog_lists_pipelines_with_parameters_without_auth(client: FlaskClient) -> None:
    response = client.get("/api/v1/validator/pipelines")
    assert response.status_code == 200
    body = response.get_json()
    assert [p["pipeline"] for p in body["pipelines"]] == [
        "openai/payg/usage",
        "subscription/costs/quick",
    ]
    quick = body["pipelines"][1]
    assert quick["schedule"] == "0 4 * * *"
    assert (quick["name"], quick["display_name"]) == ("quick", "Quick")
    parameters = {p["name"]: p for p in quick["parameters"]}  # a list, as the clients read it
    assert parameters["region"] == {
        "name": "region",
        "type": "string",
        "required": False,
        "default": "eu",
        "description": "",
        "choices": ["eu", "us"],
    }
    assert parameters["depth"]["required"] is True
    assert [i["pipeline"] for i in body["invalid"]] == ["openai/payg/broken"]


def test_catalog_by_provider(client: FlaskClient) -> None:
    body = client.get("/api/v1/validator/pipelines/openai").get_json()
    assert [p["pipeline"] for p in body["pipelines"]] == ["openai/payg/usage"]
    assert client.get("/api/v1/validator/pipelines/anthropic").get_json()["pipelines"] == []
    unknown = client.get("/api/v1/validator/pipelines/nope")
    assert unknown.status_code == 404
    assert "openai" in unknown.get_json()["error"]["details"]["available"]


def _validate(client: FlaskClient, key: str | None, body: Any, org: str = "acme") -> Any:
    headers = {} if key is None else {"X-API-Key": key}
    return client.post(f"/api/v1/validator/validate/{org}", json=body, headers=headers)


GOOD = {"pipeline": "subscription/costs/quick", "date": "2026-10-01", "parameters": {"depth": 2}}


def test_validate_admits_without_reserving(client: FlaskClient, runtime: EmbeddedRuntime) -> None:
    _, key = new_org(runtime, "acme", plan="starter")
    for _ in range(3):  # starter: 1 concurrent; a reservation would refuse the 2nd
        response = _validate(client, key, GOOD)
        assert response.status_code == 200
        body = response.get_json()
        assert body["admitted"] is True, body
        assert body["parameters"] == {"region": "eu", "depth": 2}
    assert body["quota"]["used"] == {"daily": 0, "monthly": 0, "concurrent": 0}
    assert runtime.services.store.list_runs("acme") == []


def test_validate_reports_every_reason(client: FlaskClient, runtime: EmbeddedRuntime) -> None:
    org, key = new_org(runtime, "frozen", plan="starter", status=SubscriptionStatus.SUSPENDED)
    now = runtime.services.clock.now()
    runtime.services.store.reserve_quota("frozen", "held", org.limits, now)
    body = _validate(
        client, key, {**GOOD, "parameters": {"region": "mars", "depth": 1}}, org="frozen"
    ).get_json()
    assert body["admitted"] is False
    assert [r["code"] for r in body["reasons"]] == ["subscription", "parameters", "quota"]
    assert body["reasons"][1]["field"] == "parameters.region"
    assert body["reasons"][2]["limit"] == "concurrent"


def test_validate_auth_and_wrong_org(client: FlaskClient, runtime: EmbeddedRuntime) -> None:
    _, acme = new_org(runtime, "acme")
    new_org(runtime, "globex")
    assert _validate(client, None, GOOD).status_code == 401
    assert _validate(client, acme, GOOD, org="globex").status_code == 401
    missing = _validate(client, acme, {**GOOD, "pipeline": "subscription/costs/nope"})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date": "2026-10-01"}, "pipeline"),
        ({**GOOD, "pipeline": "just-a-name"}, "pipeline"),
        ({**GOOD, "date": "2026-02-30"}, "date"),
        ({**GOOD, "parameters": [1]}, "parameters"),
        ({**GOOD, "colour": "red"}, "colour"),
    ],
)
def test_validate_bad_input_is_400_naming_the_field(
    client: FlaskClient, runtime: EmbeddedRuntime, body: Any, field: str
) -> None:
    _, key = new_org(runtime, "acme")
    response = _validate(client, key, body)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["field"] == field
