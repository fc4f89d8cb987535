"""Dependencies down: the warehouse, the state store or a provider API goes away.

Each test takes a dependency away for real (a forwarder on the dependency's address
stops listening and cuts its connections, a SQLite write lock is held, a provider's
port has no listener) and checks: the API answers 503 with a short message (no stack
trace, no secret) for requests that need it; a step retries with backoff, then fails
with a clear message, its run FAILED, its concurrent slot released, nothing written;
and once the dependency is back, a new run succeeds.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery, firestore

from shared.adapters.bigquery.emulator import EmbeddedBigQuery
from shared.adapters.bigquery.warehouse import BigQueryWarehouse
from shared.adapters.firestore.client import bound_deadlines
from shared.adapters.firestore.state import FirestoreStateStore
from shared.adapters.sqlite import db as sqlite_db
from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.genai_sample_server import SampleGenAIServer
from shared.devtools.emulators import Emulator, free_port
from shared.domain.focus import COST_TABLE
from shared.domain.genai import USAGE_RAW_TABLE
from shared.domain.models import Run
from shared.domain.sql import table_ref
from shared.domain.states import RunStatus, StepStatus
from shared.handlers.access import ROOT_KEY_ENV
from shared.handlers.credentials import set_credential
from tests.support.emulators import EMULATOR_PROJECT
from tests.support.live_api import Answer, post, serve_api
from tests.support.outage import SwitchableEndpoint
from tests.support.runtime import (
    fast_pipeline,
    make_runtime,
    new_org,
    org_table,
    record_pipeline,
)

OPENAI_KEY = "sk-admin-openai-DEPENDENCY-4c1d7e"
ROOT_KEY = "root-key-for-dependency-tests"
DEADLINE_S = 1.0  # the adapters' retry bound here (production default: 60 s)
WINDOW = {"date": "2026-10-01"}


# The real OpenAI pipeline; two attempts per step and per page, short backoffs.
PIPELINES = {
    "genai/payg/openai": fast_pipeline("genai/payg/openai", attempts=2, backoff=0.2),
    "subscription/costs/quick": record_pipeline("quick"),
}
pytestmark = [pytest.mark.warehouse, pytest.mark.slow, pytest.mark.pipelines(PIPELINES)]


def _run_url(base: str, slug: str, pipeline: str) -> str:
    provider, domain = ("genai", "payg") if pipeline == "openai" else ("subscription", "costs")
    return f"{base}/api/v1/pipelines/run/{slug}/{provider}/{domain}/{pipeline}"


def _finished(rt: EmbeddedRuntime, slug: str, answer: Answer) -> Run:
    assert answer.status == 202, answer.body
    assert rt.bus.drain(120)
    run = rt.services.store.get_run(slug, answer.body["run_id"])
    assert run is not None
    return run


def _count(rt: EmbeddedRuntime, slug: str, table: str) -> int:
    ref = org_table(rt, slug, table)
    rows = rt.warehouse.query(
        f"SELECT COUNT(*) AS n FROM {ref} WHERE x_org_slug = @org", {"org": slug}
    )
    return int(rows[0]["n"])


def _assert_clean_503(response: httpx.Response, *, mentions: str) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "dependency_unavailable"
    assert mentions in error["message"]
    assert "Traceback" not in response.text
    assert OPENAI_KEY not in response.text
    assert ROOT_KEY not in response.text


def _log_text(rt: EmbeddedRuntime, slug: str, run: Run) -> str:
    return "\n".join(e.message for e in rt.services.store.list_logs(slug, run.run_id))


# -- the warehouse ----------------------------------------------------------------------
@pytest.fixture
def bigquery_endpoint(embedded_bq: EmbeddedBigQuery) -> Iterator[SwitchableEndpoint]:
    target = urlsplit(embedded_bq.rest_url)
    assert target.hostname is not None
    assert target.port is not None
    with SwitchableEndpoint(target.hostname, target.port) as endpoint:
        yield endpoint


def test_a_dead_warehouse_answers_503_fails_steps_after_retries_and_recovers(
    tmp_path: Path,
    configs: Path,
    embedded_bq: EmbeddedBigQuery,
    bigquery_endpoint: SwitchableEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = bigquery.Client(
        project=embedded_bq.project_id,
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=bigquery_endpoint.url),
    )
    warehouse = BigQueryWarehouse(client, embedded_bq.project_id, retry_deadline_seconds=DEADLINE_S)
    monkeypatch.setenv(ROOT_KEY_ENV, ROOT_KEY)
    slug = "dep_warehouse"
    with (
        make_runtime(tmp_path, configs, warehouse=warehouse) as rt,
        SampleGenAIServer(openai_key=OPENAI_KEY, anthropic_key="unused") as provider,
        serve_api(rt.services, monkeypatch) as base,
    ):
        _, key = new_org(rt, slug)
        set_credential(rt.services, slug, "openai", OPENAI_KEY, base_url=provider.openai_base_url)
        procedures = f"{base}/api/v1/procedures"
        root = {"X-CA-Root-Key": ROOT_KEY}

        bigquery_endpoint.down()
        started = time.monotonic()
        listing = httpx.get(procedures, params={"org": slug}, headers=root, timeout=60)
        _assert_clean_503(listing, mentions="BigQuery")
        # Bounded by the retry deadline, not the client's default 10 minutes.
        assert time.monotonic() - started < 10 * DEADLINE_S + 5

        # Admission needs only the state store; the steps meet the dead warehouse.
        failed = _finished(rt, slug, post(_run_url(base, slug, "openai"), WINDOW, key))
        assert failed.status is RunStatus.FAILED
        extract = failed.steps["extract_usage"]
        assert extract.status is StepStatus.FAILED
        assert extract.attempt == 2  # retried once, then given up
        assert extract.error is not None
        assert "BigQuery" in extract.error
        assert failed.error is not None
        assert "BigQuery" in failed.error
        assert "attempt 1 failed, retrying in 0.2 s" in _log_text(rt, slug, failed)
        assert failed.steps["consolidate_usage_daily"].status is StepStatus.SKIPPED
        assert rt.services.store.quota_usage(slug, rt.services.clock.now()).concurrent == 0

        bigquery_endpoint.up()
        assert _count(rt, slug, USAGE_RAW_TABLE) == 0  # nothing partial was written
        assert _count(rt, slug, COST_TABLE) == 0
        recovered = _finished(rt, slug, post(_run_url(base, slug, "openai"), WINDOW, key))
        assert recovered.status is RunStatus.COMPLETED, recovered.error
        assert _count(rt, slug, USAGE_RAW_TABLE) > 0
        assert _count(rt, slug, COST_TABLE) > 0
        listing = httpx.get(procedures, params={"org": slug}, headers=root, timeout=60)
        assert listing.status_code == 200
        assert listing.json()["procedures"]


# -- a provider API ---------------------------------------------------------------------
def test_an_unreachable_provider_fails_the_step_after_retries_and_a_later_run_succeeds(
    tmp_path: Path, configs: Path, session_warehouse: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = "dep_provider"
    port = free_port()  # nobody listens here until the provider "comes back"
    with (
        make_runtime(tmp_path, configs, warehouse=session_warehouse) as rt,
        serve_api(rt.services, monkeypatch) as base,
    ):
        _, key = new_org(rt, slug)
        set_credential(
            rt.services, slug, "openai", OPENAI_KEY, base_url=f"http://127.0.0.1:{port}/v1"
        )
        failed = _finished(rt, slug, post(_run_url(base, slug, "openai"), WINDOW, key))
        assert failed.status is RunStatus.FAILED
        extract = failed.steps["extract_usage"]
        assert extract.status is StepStatus.FAILED
        assert extract.attempt == 2
        assert extract.error is not None
        assert "gave up after 2 attempts: ConnectError" in extract.error
        assert OPENAI_KEY not in _log_text(rt, slug, failed) + (failed.error or "")
        assert rt.services.store.quota_usage(slug, rt.services.clock.now()).concurrent == 0
        assert _count(rt, slug, USAGE_RAW_TABLE) == 0
        assert _count(rt, slug, COST_TABLE) == 0

        with SampleGenAIServer(openai_key=OPENAI_KEY, anthropic_key="unused", port=port):
            recovered = _finished(rt, slug, post(_run_url(base, slug, "openai"), WINDOW, key))
        assert recovered.status is RunStatus.COMPLETED, recovered.error
        assert _count(rt, slug, USAGE_RAW_TABLE) > 0
        days = rt.warehouse.query(
            "SELECT DISTINCT DATE(ChargePeriodStart) AS d FROM "
            f"{table_ref(rt.warehouse.project_id, rt.settings.org_dataset(slug), COST_TABLE)}"
        )
        assert [r["d"] for r in days] == [date(2026, 10, 1)]


# -- the state store ------------------------------------------------------------------
def test_a_locked_sqlite_store_answers_503_creates_nothing_and_recovers(
    tmp_path: Path, configs: Path, session_warehouse: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process holds the write lock longer than the busy timeout (30 s in
    # production; short here so the test does not wait it out).
    monkeypatch.setattr(sqlite_db, "BUSY_TIMEOUT_S", 0.5)
    slug = "dep_sqlite"
    with (
        make_runtime(tmp_path, configs, warehouse=session_warehouse) as rt,
        serve_api(rt.services, monkeypatch) as base,
    ):
        _, key = new_org(rt, slug)
        locker = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            refused = httpx.post(
                _run_url(base, slug, "quick"), json=WINDOW, headers={"X-API-Key": key}, timeout=60
            )
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        _assert_clean_503(refused, mentions="state store is unavailable (database is locked)")
        store = rt.services.store
        assert store.list_runs(slug) == []
        assert store.quota_usage(slug, rt.services.clock.now()).daily == 0

        recovered = _finished(rt, slug, post(_run_url(base, slug, "quick"), WINDOW, key))
        assert recovered.status is RunStatus.COMPLETED


def test_an_unreachable_firestore_answers_503_quickly_and_the_service_resumes(
    tmp_path: Path,
    configs: Path,
    session_warehouse: Any,
    clean_firestore: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slug = "dep_firestore"
    with (
        SwitchableEndpoint("127.0.0.1", clean_firestore.port) as endpoint,
        make_runtime(tmp_path, configs, warehouse=session_warehouse) as rt,
        serve_api(rt.services, monkeypatch) as base,
    ):
        monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{endpoint.port}")
        client = bound_deadlines(firestore.Client(project=EMULATOR_PROJECT), DEADLINE_S)
        rt.services.store = FirestoreStateStore(client)
        _, key = new_org(rt, slug)
        url = _run_url(base, slug, "quick")

        endpoint.down()
        started = time.monotonic()
        refused = httpx.post(url, json=WINDOW, headers={"X-API-Key": key}, timeout=60)
        _assert_clean_503(refused, mentions="a Google Cloud service did not answer")
        # The client's own default retries a dead Firestore for 300 s per call.
        assert time.monotonic() - started < 10 * DEADLINE_S + 5

        endpoint.up()
        # gRPC reconnects with its own backoff: the service answers again within seconds.
        deadline = time.monotonic() + 30
        answer = post(url, WINDOW, key)
        while answer.status == 503 and time.monotonic() < deadline:
            time.sleep(0.5)
            answer = post(url, WINDOW, key)
        recovered = _finished(rt, slug, answer)
        assert recovered.status is RunStatus.COMPLETED
        # The refused requests created nothing: one run, one reservation.
        assert [r.run_id for r in rt.services.store.list_runs(slug)] == [recovered.run_id]
        assert rt.services.store.quota_usage(slug, rt.services.clock.now()).daily == 1
