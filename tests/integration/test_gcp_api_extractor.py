"""gcp.api_extractor end to end: the shipped configs/cloud/gcp/api pipelines against a local
server in Google's shapes, signing in with a real service-account key (google-auth signs
the JWT, the server verifies it) or application default credentials."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.models import Run
from shared.domain.sql import table_ref
from shared.domain.states import RunStatus
from shared.handlers.credentials import set_credential
from shared.handlers.dispatch import RunRequest, dispatch_run
from tests.support.google_apis import (
    RECOMMENDATIONS,
    SKUS,
    GoogleApiServer,
    service_account_key,
)
from tests.support.runtime import REPO, make_runtime, new_org, write_configs

pytestmark = pytest.mark.warehouse

START, END = date(2026, 12, 1), date(2026, 12, 6)
PIPELINES = ("sku_prices", "cost_recommendations")


def _shipped(name: str) -> dict[str, Any]:
    path = REPO / "configs" / "cloud" / "gcp" / "api" / f"{name}.yml"
    body: dict[str, Any] = yaml.safe_load(path.read_text())
    for step in body["steps"]:
        step["retry"] = {"max_attempts": 1, "backoff_seconds": 0}
        step["config"].update(max_attempts=3, backoff_seconds=0.01, max_delay_seconds=1)
    return body


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pipelines = {f"cloud/gcp/api/{name}": _shipped(name) for name in PIPELINES}
    return write_configs(tmp_path_factory.mktemp("gcp_api"), pipelines)


@pytest.fixture
def server() -> Iterator[GoogleApiServer]:
    srv = GoogleApiServer()
    with srv:
        yield srv


@pytest.fixture
def key(server: GoogleApiServer) -> dict[str, Any]:
    key, public = service_account_key(server.token_uri)
    server.public_key = public
    return key


@pytest.fixture
def runtime(tmp_path: Path, configs: Path, session_warehouse: Any) -> Iterator[EmbeddedRuntime]:
    with make_runtime(tmp_path, configs, warehouse=session_warehouse) as rt:
        new_org(rt, "acme")
        yield rt


def _stored(key: dict[str, Any]) -> str:
    """The key as an org stores it: base64 of its JSON (a credential holds no whitespace)."""
    return base64.b64encode(json.dumps(key).encode()).decode()


def _run(rt: EmbeddedRuntime, pipeline: str, **parameters: Any) -> Run:
    org = rt.services.store.get_org("acme")
    assert org is not None
    request = RunRequest("acme", "gcp", "api", pipeline, START, END, parameters)
    run = dispatch_run(rt.services, org, request)
    assert rt.bus.drain(120)
    final = rt.services.store.get_run("acme", run.run_id)
    assert final is not None
    return final


def _rows(rt: EmbeddedRuntime, table: str) -> list[dict[str, Any]]:
    ref = table_ref(rt.warehouse.project_id, rt.settings.org_dataset("acme"), table)
    return rt.warehouse.query(f"SELECT * FROM {ref} WHERE x_org_slug = 'acme'")


def test_sku_list_prices_land_as_a_snapshot_with_money_exact(
    runtime: EmbeddedRuntime, server: GoogleApiServer, key: dict[str, Any]
) -> None:
    set_credential(runtime.services, "acme", "gcp", _stored(key), base_url=server.url)
    run = _run(runtime, "sku_prices")
    assert run.status == RunStatus.COMPLETED, run.error
    rows = {r["sku_id"]: r for r in _rows(runtime, "gcp_sku_prices")}
    assert {sku_id: rows[sku_id]["unit_price"] for sku_id, *_ in SKUS} == {
        sku_id: price for sku_id, _, _, _, price in SKUS
    }
    first = rows[SKUS[0][0]]
    assert first["currency"] == "USD"
    assert first["usage_unit"] == "h"
    assert first["x_pipeline_run_date"] == END  # a snapshot sits on the run's last day
    assert first["x_source_system"] == "gcp"
    assert [tier["startUsageAmount"] for tier in first["tiered_rates"]] == [0, 1000]
    assert run.steps["extract_sku_prices"].metrics["pages"] == 3  # 5 SKUs, 2 a page
    (grant,) = server.grants  # one token for every page
    assert grant["iss"] == key["client_email"]
    assert grant["scope"] == "https://www.googleapis.com/auth/cloud-billing.readonly"


def test_cost_recommendations_through_application_default_credentials(
    runtime: EmbeddedRuntime,
    server: GoogleApiServer,
    key: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adc = tmp_path / "adc.json"
    adc.write_text(json.dumps(key))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
    # The org's gcp credential holds no key (only where the API is), so ADC signs in.
    set_credential(runtime.services, "acme", "gcp", "not-a-key", base_url=server.url)
    run = _run(runtime, "cost_recommendations", project_id="acme-prod", location="us-central1-a")
    assert run.status == RunStatus.COMPLETED, run.error
    rows = _rows(runtime, "gcp_cost_recommendations")
    assert sorted(r["projected_cost"] for r in rows) == sorted(c for *_, c in RECOMMENDATIONS)
    assert sum(r["projected_cost"] for r in rows) == Decimal("-60.52")
    assert {r["state"] for r in rows} == {"ACTIVE"}
    asked = server.requests[-1].path
    assert asked == (
        "/v1/projects/acme-prod/locations/us-central1-a/recommenders/"
        "google.compute.instance.IdleResourceRecommender/recommendations"
    )


def test_a_key_google_refuses_fails_the_step_without_echoing_it(
    runtime: EmbeddedRuntime, server: GoogleApiServer, key: dict[str, Any]
) -> None:
    server.public_key = service_account_key(server.token_uri)[1]  # not this key's pair
    set_credential(runtime.services, "acme", "gcp", _stored(key), base_url=server.url)
    run = _run(runtime, "sku_prices")
    assert run.status == RunStatus.FAILED
    error = run.steps["extract_sku_prices"].error or ""
    assert "Google refused the credentials" in error
    assert "PRIVATE KEY" not in error
    assert not server.grants


def test_without_a_key_or_adc_the_step_says_so(
    runtime: EmbeddedRuntime,
    server: GoogleApiServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    set_credential(runtime.services, "acme", "gcp", "not-a-key", base_url=server.url)
    run = _run(runtime, "sku_prices")
    assert run.status == RunStatus.FAILED
    assert "no application default credentials" in (run.steps["extract_sku_prices"].error or "")
