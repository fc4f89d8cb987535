"""The BigQuery meta tables (CLIENT_CONTRACT.md) on the embedded runtime: runs, schedules
and notification deliveries mirrored by MERGE, idempotently, newest state winning, and
caught up after a warehouse outage that the run itself never noticed."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from shared.adapters.bigquery.emulator import EmbeddedBigQuery
from shared.adapters.bigquery.warehouse import BigQueryWarehouse
from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain import meta
from shared.domain.models import Run
from shared.domain.notifications import DeliveryStatus
from shared.domain.sql import table_ref
from shared.domain.states import RunStatus, StepStatus
from shared.entrypoints.cli.commands import ops
from shared.entrypoints.cli.main import main
from shared.handlers import meta_mirror, scheduler
from shared.handlers.cancel import cancel_run
from shared.handlers.dispatch import RunRequest, dispatch_run
from shared.ports import Warehouse
from tests.support.outage import SwitchableEndpoint
from tests.support.runtime import make_runtime, new_org, record_pipeline, write_configs

pytestmark = pytest.mark.warehouse

RUN_CONTRACT = {
    "run_id": "STRING",
    "org_slug": "STRING",
    "provider": "STRING",
    "domain": "STRING",
    "pipeline": "STRING",
    "status": "STRING",
    "started_at": "TIMESTAMP",
    "completed_at": "TIMESTAMP",
    "records_processed": "INT64",
    "error_message": "STRING",
    "parameters": "JSON",
    "created_by": "STRING",
    "created_at": "TIMESTAMP",
}
SCHEDULE_CONTRACT = {
    "schedule_id": "STRING",
    "org_slug": "STRING",
    "provider": "STRING",
    "domain": "STRING",
    "pipeline": "STRING",
    "cron_expression": "STRING",
    "is_enabled": "BOOL",
    "last_run_at": "TIMESTAMP",
    "next_run_at": "TIMESTAMP",
    "parameters": "JSON",
    "created_at": "TIMESTAMP",
    "updated_at": "TIMESTAMP",
}


def _pipeline(name: str, *, failing: bool = False) -> dict[str, Any]:
    """Steps first -> second (``failing``: ok -> bad, bad failing for good), with the
    default cron a schedule takes and one parameter."""
    first, second = ("ok", "bad") if failing else ("first", "second")
    body = record_pipeline(name, first)
    body["steps"].append(
        {
            "step_id": second,
            "ps_type": "test.record",
            "depends_on": [first],
            "retry": {"max_attempts": 1},
            "config": {"fail_permanently": failing},
        }
    )
    return {**body, "schedule": "0 6 * * *", "parameters": {"label": {"type": "string"}}}


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_configs(
        tmp_path_factory.mktemp("meta"),
        {
            "subscription/costs/pair": _pipeline("pair"),
            "subscription/costs/doomed": _pipeline("doomed", failing=True),
            "subscription/costs/long": {
                **record_pipeline("long"),
                "steps": [
                    {
                        "step_id": "transform",
                        "ps_type": "test.transform",  # the run enters processing
                        "timeout_seconds": 60,
                        "config": {"sleep_seconds": 30},
                    }
                ],
            },
        },
    )


@pytest.fixture
def runtime(tmp_path: Path, configs: Path, session_warehouse: Any) -> Iterator[EmbeddedRuntime]:
    with make_runtime(tmp_path, configs, warehouse=session_warehouse) as rt:
        yield rt


def _run(rt: EmbeddedRuntime, slug: str, pipeline: str, **parameters: Any) -> Run:
    org = rt.services.store.get_org(slug)
    assert org is not None
    request = RunRequest(
        slug, "subscription", "costs", pipeline, date(2026, 10, 1), date(2026, 10, 1), parameters
    )
    started = dispatch_run(rt.services, org, request)
    assert rt.bus.drain(60)
    assert rt.notifier.flush(30)
    run = rt.services.store.get_run(slug, started.run_id)
    assert run is not None
    return run


def _route_failures(rt: EmbeddedRuntime, slug: str) -> None:
    """PIPELINE_FAILURE to email and slack, neither configured: each delivery is recorded
    as failed without a network call."""
    rt.notifier.set_org_settings(slug, {"events": {"PIPELINE_FAILURE": ["email", "slack"]}})


def _rows(rt: EmbeddedRuntime, dataset: str, table: str, where: str, **params: Any) -> list[Any]:
    ref = table_ref(rt.warehouse.project_id, dataset, table)
    return rt.warehouse.query(f"SELECT * FROM {ref} WHERE {where}", params)


def _run_rows(rt: EmbeddedRuntime, run_id: str) -> list[dict[str, Any]]:
    return _rows(rt, meta.META_DATASET, meta.RUNS_TABLE, "run_id = @id", id=run_id)


def _schedule_rows(rt: EmbeddedRuntime, schedule_id: str) -> list[dict[str, Any]]:
    return _rows(rt, meta.META_DATASET, meta.SCHEDULES_TABLE, "schedule_id = @id", id=schedule_id)


def _schema(client: bigquery.Client, dataset: str, table: str) -> dict[str, str]:
    """Column -> type as the contract spells it (the API may say INTEGER for INT64)."""
    got = client.get_table(f"{client.project}.{dataset}.{table}")
    legacy = {"INTEGER": "INT64", "BOOLEAN": "BOOL", "FLOAT": "FLOAT64"}
    return {field.name: legacy.get(field.field_type, field.field_type) for field in got.schema}


def test_a_completed_run_is_in_pipeline_runs_with_the_contract_columns(
    runtime: EmbeddedRuntime, bq_client: bigquery.Client
) -> None:
    new_org(runtime, "meta_runs")
    run = _run(runtime, "meta_runs", "pair", label="october")
    assert run.status is RunStatus.COMPLETED
    schema = _schema(bq_client, meta.META_DATASET, meta.RUNS_TABLE)
    assert {name: schema.get(name) for name in RUN_CONTRACT} == RUN_CONTRACT

    [row] = _run_rows(runtime, run.run_id)
    assert row["org_slug"] == "meta_runs"
    assert (row["provider"], row["domain"], row["pipeline"]) == ("subscription", "costs", "pair")
    assert row["status"] == "completed"
    assert row["records_processed"] == 2  # one row per step (test.record)
    assert row["error_message"] is None
    assert row["started_at"] == run.started_at
    assert row["completed_at"] == run.finished_at
    assert row["created_at"] == run.created_at
    assert row["created_by"] == "api"
    assert row["parameters"] == run.parameters
    assert row["parameters"]["label"] == "october"
    assert row["progress"] == 1.0
    assert row["updated_at"] == meta.run_updated_at(run) >= run.finished_at


def test_a_failed_run_keeps_its_error_and_a_remirror_changes_nothing(
    runtime: EmbeddedRuntime,
) -> None:
    new_org(runtime, "meta_failed")
    run = _run(runtime, "meta_failed", "doomed")
    assert run.status is RunStatus.FAILED
    [before] = _run_rows(runtime, run.run_id)
    assert before["status"] == "failed"
    assert before["error_message"] == run.error
    assert "bad failed on purpose" in before["error_message"]
    assert before["records_processed"] == 1  # the step that succeeded

    meta_mirror.mirror_run(runtime.services, run)
    meta_mirror.run_changed(runtime.services, run.org_slug, run.run_id)
    assert _run_rows(runtime, run.run_id) == [before]
    caught = meta_mirror.catch_up(runtime.services)
    assert (caught.runs, caught.schedules) == (0, 0)  # nothing was behind
    assert _run_rows(runtime, run.run_id) == [before]


def test_an_older_state_arriving_late_does_not_overwrite_a_newer_one(
    runtime: EmbeddedRuntime,
) -> None:
    new_org(runtime, "meta_order")
    run = _run(runtime, "meta_order", "pair")
    [final] = _run_rows(runtime, run.run_id)
    assert final["status"] == "completed"

    # The mirror of 'running' (steps not yet done), delivered after the completion's.
    steps = {
        k: dataclasses.replace(s, status=StepStatus.PENDING, finished_at=None, rows_written=0)
        for k, s in run.steps.items()
    }
    running = dataclasses.replace(run, status=RunStatus.RUNNING, finished_at=None, steps=steps)
    meta_mirror.mirror_run(runtime.services, running)
    assert _run_rows(runtime, run.run_id) == [final]

    # A later completed state (same status, newer time) does replace it.
    assert run.finished_at is not None
    later = dataclasses.replace(run, finished_at=run.finished_at + timedelta(seconds=5))
    meta_mirror.mirror_run(runtime.services, later)
    [row] = _run_rows(runtime, run.run_id)
    assert row["completed_at"] == later.finished_at
    assert row["updated_at"] == later.finished_at


def test_processing_and_cancelled_are_mirrored_as_they_happen(runtime: EmbeddedRuntime) -> None:
    new_org(runtime, "meta_cancel")
    org = runtime.services.store.get_org("meta_cancel")
    assert org is not None
    day = date(2026, 10, 1)
    request = RunRequest("meta_cancel", "subscription", "costs", "long", day, day)
    run_id = dispatch_run(runtime.services, org, request).run_id
    deadline = time.monotonic() + 20
    while [r["status"] for r in _run_rows(runtime, run_id)] != ["processing"]:
        assert time.monotonic() < deadline, _run_rows(runtime, run_id)
        time.sleep(0.1)

    cancelled = cancel_run(runtime.services, "meta_cancel", run_id, reason="from the test")
    [row] = _run_rows(runtime, run_id)
    assert (row["status"], row["completed_at"]) == ("cancelled", cancelled.finished_at)
    assert row["completed_at"] is not None
    assert runtime.bus.drain(30)  # the step stops; its late outcome changes nothing
    assert _run_rows(runtime, run_id) == [row]


def test_schedules_are_mirrored_on_create_update_and_firing(
    runtime: EmbeddedRuntime, bq_client: bigquery.Client
) -> None:
    new_org(runtime, "meta_sched")
    services = runtime.services
    created = scheduler.create_schedule(
        services,
        {"org_slug": "meta_sched", "pipeline": "subscription/costs/pair", "parameters": {}},
    )
    schema = _schema(bq_client, meta.META_DATASET, meta.SCHEDULES_TABLE)
    assert {name: schema.get(name) for name in SCHEDULE_CONTRACT} == SCHEDULE_CONTRACT
    [row] = _schedule_rows(runtime, created.schedule_id)
    assert row["org_slug"] == "meta_sched"
    assert (row["provider"], row["domain"], row["pipeline"]) == ("subscription", "costs", "pair")
    assert row["cron_expression"] == "0 6 * * *"  # the pipeline's default
    assert row["is_enabled"] is True
    assert row["next_run_at"] == created.next_fire_at
    assert row["last_run_at"] is None
    assert row["created_at"] == row["updated_at"] == created.created_at

    updated = scheduler.update_schedule(
        services, created.schedule_id, {"cron_expression": "30 7 * * *", "is_enabled": False}
    )
    [row] = _schedule_rows(runtime, created.schedule_id)
    assert (row["cron_expression"], row["is_enabled"]) == ("30 7 * * *", False)
    assert row["next_run_at"] is None
    assert row["updated_at"] == updated.updated_at

    fire = scheduler.trigger(services, created.schedule_id)
    assert fire is not None
    assert runtime.bus.drain(60)
    [row] = _schedule_rows(runtime, created.schedule_id)
    assert row["last_run_at"] == fire.fire_time
    [run_row] = _run_rows(runtime, fire.run_id)
    assert (run_row["created_by"], run_row["status"]) == ("schedule", "completed")
    assert meta_mirror.catch_up(services).schedules == 0


def test_deliveries_appear_in_the_orgs_notification_history(
    runtime: EmbeddedRuntime, bq_client: bigquery.Client
) -> None:
    new_org(runtime, "meta_notify")
    _route_failures(runtime, "meta_notify")
    run = _run(runtime, "meta_notify", "doomed")
    dataset = runtime.settings.org_dataset("meta_notify")
    rows = _rows(runtime, dataset, meta.HISTORY_TABLE, "run_id = @id", id=run.run_id)
    recorded = [
        d for d in runtime.notifier.store.list_deliveries("meta_notify") if d.run_id == run.run_id
    ]
    assert len(recorded) == 2  # email and slack, neither configured for this org
    assert sorted((r["channel"], r["status"], r["event"], r["error"]) for r in rows) == [
        ("email", "failed", "PIPELINE_FAILURE", "email is not configured for this org"),
        ("slack", "failed", "PIPELINE_FAILURE", "slack is not configured for this org"),
    ]
    assert {r["delivery_key"] for r in rows} == {meta.delivery_key(d) for d in recorded}
    assert all(d.status is DeliveryStatus.FAILED for d in recorded)
    assert {r["created_at"] for r in rows} == {d.at for d in recorded}

    assert meta_mirror.catch_up(runtime.services).deliveries == 0
    for delivery in recorded:  # mirrored again: still one row each
        meta_mirror.mirror_delivery(runtime.services, delivery)
    again = _rows(runtime, dataset, meta.HISTORY_TABLE, "run_id = @id", id=run.run_id)
    assert len(again) == 2

    # The table dropped behind the process's back (a dataset rebuilt): created again.
    bq_client.delete_table(f"{bq_client.project}.{dataset}.{meta.HISTORY_TABLE}")
    meta_mirror.mirror_delivery(runtime.services, recorded[0])
    [restored] = _rows(runtime, dataset, meta.HISTORY_TABLE, "run_id = @id", id=run.run_id)
    assert restored["delivery_key"] == meta.delivery_key(recorded[0])


# -- an outage ---------------------------------------------------------------------------
@pytest.fixture
def switchable(embedded_bq: EmbeddedBigQuery) -> Iterator[tuple[SwitchableEndpoint, Warehouse]]:
    """A warehouse reaching the session's BigQuery through an endpoint the test can take
    down; calls give up after 1 s (production: 60 s)."""
    rest = urlsplit(embedded_bq.rest_url)
    with SwitchableEndpoint(rest.hostname or "127.0.0.1", rest.port or 80) as endpoint:
        options = ClientOptions(api_endpoint=endpoint.url)
        client = bigquery.Client(
            embedded_bq.project_id, credentials=AnonymousCredentials(), client_options=options
        )
        yield endpoint, BigQueryWarehouse(client, client.project, retry_deadline_seconds=1.0)


def test_a_warehouse_outage_does_not_fail_the_run_and_the_catch_up_fills_the_row(
    tmp_path: Path,
    configs: Path,
    switchable: tuple[SwitchableEndpoint, Warehouse],
    caplog: pytest.LogCaptureFixture,
) -> None:
    bigquery_endpoint, warehouse = switchable
    with make_runtime(tmp_path, configs, warehouse=warehouse) as rt:
        new_org(rt, "meta_outage")  # onboarding needs the warehouse: it is up
        _route_failures(rt, "meta_outage")
        bigquery_endpoint.down()
        with caplog.at_level(logging.WARNING, logger="shared.handlers.meta_mirror"):
            failed = _run(rt, "meta_outage", "doomed")
            run = _run(rt, "meta_outage", "pair")
        assert run.status is RunStatus.COMPLETED  # the mirror's failure did not touch it
        assert failed.status is RunStatus.FAILED
        behind = [r.getMessage() for r in caplog.records if "meta mirror behind" in r.message]
        assert any(f"run {run.run_id} not mirrored" in m for m in behind), behind
        assert any("BigQuery" in m for m in behind), behind

        with pytest.raises(Exception, match="BigQuery"):
            meta_mirror.catch_up(rt.services)  # still down: the job fails and is retried

        bigquery_endpoint.up()
        with caplog.at_level(logging.INFO, logger="shared.handlers.meta_mirror"):
            caught = meta_mirror.catch_up(rt.services)
        assert caught.runs == 2
        assert caught.deliveries == 2  # the failure's email and slack records
        assert any("meta mirror caught up: 2 runs" in r.getMessage() for r in caplog.records)
        [row] = _run_rows(rt, run.run_id)
        assert (row["status"], row["records_processed"]) == ("completed", 2)
        assert row["completed_at"] == run.finished_at
        [failed_row] = _run_rows(rt, failed.run_id)
        assert failed_row["error_message"] == failed.error
        assert meta_mirror.catch_up(rt.services).runs == 0  # now current

        # Live mirrors resumed with the catch-up: the next run is mirrored at once.
        later = _run(rt, "meta_outage", "pair")
        [later_row] = _run_rows(rt, later.run_id)
        assert later_row["status"] == "completed"


def test_the_cli_catch_up_restores_a_lost_row(
    runtime: EmbeddedRuntime, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    new_org(runtime, "meta_cli")
    run = _run(runtime, "meta_cli", "pair")
    [mirrored] = _run_rows(runtime, run.run_id)
    ref = table_ref(runtime.warehouse.project_id, meta.META_DATASET, meta.RUNS_TABLE)
    runtime.warehouse.query(f"DELETE FROM {ref} WHERE run_id = @id", {"id": run.run_id})
    assert _run_rows(runtime, run.run_id) == []

    # The verb closes its runtime: lend it this one, left open.
    monkeypatch.setattr(ops, "_runtime", lambda: contextlib.nullcontext(runtime))
    assert main(["meta-catch-up", "--days", "1"]) == 0
    assert capsys.readouterr().out.startswith("1 runs, 0 schedules, 0 deliveries re-mirrored")
    assert _run_rows(runtime, run.run_id) == [mirrored]
