"""Procedures sync, migrations and the executor's version check, on the embedded BigQuery."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.gcp_sample import load_sample_export
from shared.domain import saas_subscriptions as subs
from shared.domain.credentials import Credential, Secret
from shared.domain.errors import BadRequest
from shared.domain.focus import LINEAGE_COLUMNS
from shared.domain.models import Run
from shared.domain.states import RunStatus
from shared.entrypoints.cli.commands import procedures as procedures_cli
from shared.entrypoints.cli.main import main
from shared.handlers.procedures import (
    MIGRATIONS_TABLE,
    VERSIONS_TABLE,
    find_migration,
    procedure_files,
    split_statements,
    sync_procedures,
)
from shared.ports import Column
from shared.processors.base import StepContext
from shared.processors.cloud_focus import CloudFocusConvert
from shared.processors.gcp_bq_etl import GcpBqEtl
from shared.processors.procedure_executor import ProcedureArg, ProcedureExecutor
from tests.support.http import api_client
from tests.support.runtime import make_runtime, new_org

pytestmark = pytest.mark.warehouse
ROOT = {"X-CA-Root-Key": "root"}
START = date(2026, 3, 1)


@pytest.fixture
def runtime(tmp_path: Path, session_warehouse: Any) -> Iterator[EmbeddedRuntime]:
    with make_runtime(tmp_path / "home", warehouse=session_warehouse) as rt:
        yield rt


@pytest.fixture
def client(runtime: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setenv("PIPELINES_ROOT_KEY", "root")
    return api_client(runtime, monkeypatch)


def _ref(runtime: EmbeddedRuntime, org: str, table: str) -> str:
    wh = runtime.services.warehouse
    return f"`{wh.project_id}.{runtime.services.settings.org_dataset(org)}.{table}`"


def _statuses(report: dict[str, Any]) -> dict[str, str]:
    (org,) = report["orgs"]
    return {p["name"]: p["status"] for p in org["procedures"]}


def test_sync_creates_then_leaves_unchanged_then_updates_what_changed(
    runtime: EmbeddedRuntime, client: FlaskClient
) -> None:
    new_org(runtime, "procsync")
    names = {p.name for p in procedure_files()}
    assert {"sp_subscription_2_calculate_daily_costs", "sp_genai_3_convert_to_focus"} <= names

    listed = client.get("/api/v1/procedures?org=procsync", headers=ROOT).get_json()
    assert listed["dataset"] == "procsync_test"
    assert {(p["name"], p["exists"], p["current"]) for p in listed["procedures"]} == {
        (n, False, False) for n in names
    }

    first = client.post("/api/v1/procedures/sync", json={"org": "procsync"}, headers=ROOT)
    assert first.status_code == 200, first.get_json()
    assert _statuses(first.get_json()) == dict.fromkeys(names, "created")
    again = client.post("/api/v1/procedures/sync", json={"org": "procsync"}, headers=ROOT)
    assert _statuses(again.get_json()) == dict.fromkeys(names, "unchanged")
    listed = client.get("/api/v1/procedures?org=procsync", headers=ROOT).get_json()
    assert all(p["exists"] and p["current"] and p["deployed_at"] for p in listed["procedures"])

    # An older body recorded (the file changed since), and one procedure dropped by hand.
    wh = runtime.services.warehouse
    wh.query(
        f"UPDATE {_ref(runtime, 'procsync', VERSIONS_TABLE)} SET sha256 = 'old' "
        "WHERE procedure = 'sp_genai_3_convert_to_focus'"
    )
    wh.run_script(
        f"DROP PROCEDURE {_ref(runtime, 'procsync', 'sp_subscription_2_calculate_daily_costs')}"
    )
    stale = client.get("/api/v1/procedures?org=procsync", headers=ROOT).get_json()
    flags = {p["name"]: (p["exists"], p["current"]) for p in stale["procedures"]}
    assert flags["sp_genai_3_convert_to_focus"] == (True, False)
    assert flags["sp_subscription_2_calculate_daily_costs"] == (False, False)
    third = client.post("/api/v1/procedures/sync", json={"org": "procsync"}, headers=ROOT)
    assert _statuses(third.get_json()) == {
        **dict.fromkeys(names, "unchanged"),
        "sp_genai_3_convert_to_focus": "updated",
        "sp_subscription_2_calculate_daily_costs": "created",
    }

    # Without an org: just the files.
    bare = client.get("/api/v1/procedures", headers=ROOT).get_json()
    assert {p["name"] for p in bare["procedures"]} == names
    assert all(set(p) == {"name", "file"} for p in bare["procedures"])


def test_procedure_endpoints_refuse_bad_callers_and_bodies(
    runtime: EmbeddedRuntime, client: FlaskClient
) -> None:
    _, api_key = new_org(runtime, "procauth")
    for headers in ({}, {"X-CA-Root-Key": "wrong"}, {"X-API-Key": api_key}):
        assert client.get("/api/v1/procedures", headers=headers).status_code == 401
        sync = client.post("/api/v1/procedures/sync", json={"org": "procauth"}, headers=headers)
        assert sync.status_code == 401
        migrate = client.post(
            "/api/v1/migrations/002_create_daily_cost_view/execute?dry_run=true",
            json={"org": "procauth"},
            headers=headers,
        )
        assert migrate.status_code == 401
    missing = client.get("/api/v1/procedures?org=nosuchorg", headers=ROOT)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["details"]["field"] == "org"
    assert (
        client.post("/api/v1/procedures/sync", json={"org": "nosuchorg"}, headers=ROOT).status_code
        == 404
    )
    for body in ({}, {"org": "procauth", "all": True}, {"all": False}, {"org": 3}, {"x": 1}):
        bad = client.post("/api/v1/procedures/sync", json=body, headers=ROOT)
        assert bad.status_code == 400, body
        assert bad.get_json()["error"]["details"]["field"] in ("org", "x")
    unknown = client.post("/api/v1/migrations/999_nope/execute", json={"all": True}, headers=ROOT)
    assert unknown.status_code == 404
    assert (
        "001_backfill_subscription_source_system"
        in unknown.get_json()["error"]["details"]["available"]
    )
    flag = client.post(
        "/api/v1/migrations/002_create_daily_cost_view/execute?dry_run=maybe",
        json={"all": True},
        headers=ROOT,
    )
    assert flag.status_code == 400
    assert flag.get_json()["error"]["details"]["field"] == "dry_run"
    # Nothing was created by any refused call.
    listed = client.get("/api/v1/procedures?org=procauth", headers=ROOT).get_json()
    assert not any(p["exists"] for p in listed["procedures"])


def _insert_legacy_cost_row(runtime: EmbeddedRuntime, org: str, subscription: str | None) -> None:
    runtime.services.warehouse.run_script(
        f"INSERT INTO {_ref(runtime, org, 'cost_data_standard_1_3')} "
        "(x_org_slug, x_pipeline_run_date, ServiceName, BillingCurrency, BilledCost, "
        "EffectiveCost, x_subscription_id, x_source_system) VALUES "
        f"('{org}', DATE '2026-03-01', 'Slack', 'USD', 12.5, 12.5, "
        f"{'NULL' if subscription is None else repr(subscription)}, NULL)"
    )


def test_migration_dry_run_touches_nothing_then_applies_once_per_org(
    runtime: EmbeddedRuntime, client: FlaskClient
) -> None:
    wh = runtime.services.warehouse
    for org in ("migone", "migtwo"):
        new_org(runtime, org)
        _insert_legacy_cost_row(runtime, org, "sub-1")
        _insert_legacy_cost_row(runtime, org, None)
    url = "/api/v1/migrations/backfill_subscription_source_system/execute"

    def sources(org: str) -> list[str | None]:
        rows = wh.query(
            f"SELECT x_source_system FROM {_ref(runtime, org, 'cost_data_standard_1_3')} "
            "ORDER BY x_subscription_id IS NULL"
        )
        return [r["x_source_system"] for r in rows]

    dry = client.post(url + "?dry_run=true", json={"all": True}, headers=ROOT).get_json()
    assert dry["migration"] == "001_backfill_subscription_source_system"
    assert dry["dry_run"] is True
    assert [(o["org_slug"], o["status"]) for o in dry["orgs"]] == [
        ("migone", "would_apply"),
        ("migtwo", "would_apply"),
    ]
    (statement,) = dry["orgs"][1]["statements"]
    assert statement.startswith(
        f"UPDATE `{wh.project_id}.migtwo_test.cost_data_standard_1_3`\nSET x_source_system"
    )
    assert sources("migone") == [None, None]  # nothing applied, nothing recorded
    tables = wh.query(
        f"SELECT table_name FROM `{wh.project_id}.migone_test.INFORMATION_SCHEMA.TABLES`"
    )
    assert MIGRATIONS_TABLE not in {t["table_name"] for t in tables}

    one = client.post(url, json={"org": "migone"}, headers=ROOT).get_json()
    assert [o["status"] for o in one["orgs"]] == ["applied"]
    assert sources("migone") == ["subscription", None]  # only the row it can attribute
    assert sources("migtwo") == [None, None]
    every = client.post(url, json={"all": True}, headers=ROOT).get_json()
    assert [(o["org_slug"], o["status"]) for o in every["orgs"]] == [
        ("migone", "already_applied"),
        ("migtwo", "applied"),
    ]
    assert sources("migtwo") == ["subscription", None]

    view = client.post(
        "/api/v1/migrations/002_create_daily_cost_view/execute",
        json={"org": "migone"},
        headers=ROOT,
    ).get_json()
    assert view["orgs"][0]["status"] == "applied"
    rows = wh.query(f"SELECT * FROM {_ref(runtime, 'migone', 'v_daily_cost_by_service')}")
    summed = [(r["cost_date"], r["service_name"], r["billed_cost"], r["cost_rows"]) for r in rows]
    assert summed == [(date(2026, 3, 1), "Slack", 25, 2)]
    recorded = wh.query(
        f"SELECT migration, statements FROM {_ref(runtime, 'migone', MIGRATIONS_TABLE)} "
        "ORDER BY migration"
    )
    assert [(r["migration"], r["statements"]) for r in recorded] == [
        ("001_backfill_subscription_source_system", 1),
        ("002_create_daily_cost_view", 1),
    ]


def test_ingestion_date_migration_adds_and_fills_it_on_tables_written_before_it(
    runtime: EmbeddedRuntime, client: FlaskClient
) -> None:
    """003 finds every output table by its x_ingested_at (here one an API extractor config
    named, in the shape before x_ingestion_date), adds the column and fills it with the
    ingestion's UTC day; a view over such a table is left alone."""
    wh = runtime.services.warehouse
    org = "migthree"
    new_org(runtime, org)
    dataset = runtime.services.settings.org_dataset(org)
    legacy = tuple(c for c in LINEAGE_COLUMNS if c.name != "x_ingestion_date")
    wh.ensure_table(dataset, "vendor_usage_raw", (Column("amount", "NUMERIC"), *legacy))
    table = _ref(runtime, org, "vendor_usage_raw")
    wh.run_script(
        f"INSERT INTO {table} (amount, x_org_slug, x_ingested_at) VALUES "
        f"(1, '{org}', TIMESTAMP '2026-03-02 23:30:00+00'), (2, '{org}', NULL)"
    )
    wh.run_script(
        f"CREATE VIEW {_ref(runtime, org, 'v_vendor_usage')} AS "
        f"SELECT amount, x_ingested_at FROM {table}"
    )
    url = "/api/v1/migrations/003_fill_ingestion_date/execute"

    applied = client.post(url, json={"org": org}, headers=ROOT).get_json()
    assert [o["status"] for o in applied["orgs"]] == ["applied"], applied
    rows = wh.query(f"SELECT amount, x_ingestion_date FROM {table} ORDER BY amount")
    assert [(r["amount"], r["x_ingestion_date"]) for r in rows] == [
        (1, date(2026, 3, 2)),
        (2, None),  # nothing says when it was ingested: left NULL, not guessed
    ]
    # the FOCUS table new_org created already had the column: untouched, still there
    cost = wh.query(
        f"SELECT column_name FROM `{wh.project_id}.{dataset}`.INFORMATION_SCHEMA.COLUMNS "
        "WHERE table_name = 'cost_data_standard_1_3' AND column_name = 'x_ingestion_date'"
    )
    assert len(cost) == 1
    # harmless again (the runner records it once; the SQL itself is idempotent too)
    wh.run_script(find_migration("003_fill_ingestion_date").render(wh.project_id, dataset))
    again = client.post(url, json={"org": org}, headers=ROOT).get_json()
    assert [o["status"] for o in again["orgs"]] == ["already_applied"]
    view = wh.query(f"SELECT * FROM {_ref(runtime, org, 'v_vendor_usage')} ORDER BY amount")
    assert [sorted(r) for r in view] == [["amount", "x_ingested_at"]] * 2


def test_split_statements_keeps_quoted_semicolons_and_drops_comments() -> None:
    sql = "-- a; comment\nSELECT ';' AS x; # another; one\nSELECT `a;b` FROM t;\n\n"
    assert split_statements(sql) == ["SELECT ';' AS x", "SELECT `a;b` FROM t"]


def _step(
    runtime: EmbeddedRuntime,
    org: str,
    pipeline_ref: str,
    config: dict[str, Any],
    logs: list[str],
    *,
    days: int = 2,
) -> StepContext:
    """A step of run r1 of the org's ``pipeline_ref`` (provider/domain/pipeline) over
    ``days`` days from START, logging to ``logs``. Its credential is a placeholder: these
    steps read what their config names."""
    provider, _, pipeline = pipeline_ref.split("/")
    run = Run(
        run_id="r1",
        org_slug=org,
        pipeline_ref=pipeline_ref,
        pipeline_id=pipeline,
        provider=provider,
        status=RunStatus.RUNNING,
        trigger="api",
        start_date=START,
        end_date=START + timedelta(days=days - 1),
        credential_id="internal",
        parameters={},
        created_at=datetime(2026, 3, 3, tzinfo=UTC),
    )
    return StepContext(
        run=run,
        step_id="step",
        config=config,
        variables={},
        warehouse=runtime.services.warehouse,
        log=logs.append,
        should_stop=lambda: False,
        source_system=provider,
        credential=lambda: Credential(provider, "internal", Secret("not-a-key")),
    )


def test_executor_deploys_only_when_the_body_changed(runtime: EmbeddedRuntime) -> None:
    new_org(runtime, "procexec")
    wh = runtime.services.warehouse
    dataset = runtime.services.settings.org_dataset("procexec")
    logs: list[str] = []
    config = {
        "procedure": "sp_subscription_2_calculate_daily_costs",
        "source": "subscription/sp_subscription_2_calculate_daily_costs.sql",
        "dataset": dataset,
        "args": [
            {"name": "p_org_slug", "value": "procexec"},
            {"name": "p_start_date", "type": "DATE", "value": "2026-03-01"},
            {"name": "p_end_date", "type": "DATE", "value": "2026-03-02"},
            {"name": "p_pipeline_id", "value": "daily"},
            {"name": "p_credential_id", "value": "internal"},
            {"name": "p_run_id", "value": "r1"},
        ],
    }
    ctx = _step(runtime, "procexec", "subscription/costs/daily", config, logs)

    def deployed_in_one_run() -> bool:
        logs.clear()
        ProcedureExecutor().run(ctx)
        assert any(line.startswith("CALL ") for line in logs)
        return any(line.startswith("deployed ") for line in logs)

    assert deployed_in_one_run() is True
    assert deployed_in_one_run() is False  # same file, same body: no CREATE OR REPLACE
    wh.query(f"UPDATE {_ref(runtime, 'procexec', VERSIONS_TABLE)} SET sha256 = 'old' WHERE TRUE")
    assert deployed_in_one_run() is True  # the file changed since: deployed again
    procedure = _ref(runtime, "procexec", "sp_subscription_2_calculate_daily_costs")
    wh.run_script(f"DROP PROCEDURE {procedure}")
    assert deployed_in_one_run() is False
    assert any("was missing; re-creating it" in line for line in logs)
    assert deployed_in_one_run() is False


def _plan(subscription_id: str, unit_price: str, seats: int) -> dict[str, Any]:
    return {
        "subscription_id": subscription_id,
        "provider": "Slack",
        "plan_name": "Business+",
        "billing_cycle": "monthly",
        "pricing_model": "per_seat",
        "unit_price": Decimal(unit_price),
        "seats": seats,
        "currency": "USD",
        "start_date": START - timedelta(days=30),
        "status": "active",
    }


def test_a_procedure_failing_after_its_delete_leaves_the_previous_slice(
    runtime: EmbeddedRuntime,
) -> None:
    """The executor CALLs in one transaction: a procedure that fails after the DELETE of
    its slice, in the INSERT's SELECT (a plan the check before the DELETE lets through but
    whose seats x price overflows NUMERIC), leaves the previous run's rows in place."""
    new_org(runtime, "procatomic")
    wh = runtime.services.warehouse
    dataset = runtime.services.settings.org_dataset("procatomic")
    wh.ensure_table(dataset, subs.PLANS_TABLE, subs.PLANS_COLUMNS)
    wh.load_rows(dataset, subs.PLANS_TABLE, subs.PLANS_COLUMNS, [_plan("s1", "8.75", 4)])

    def config(run_id: str) -> dict[str, Any]:
        values = {
            "p_org_slug": ("STRING", "procatomic"),
            "p_start_date": ("DATE", "2026-03-01"),
            "p_end_date": ("DATE", "2026-03-02"),
            "p_pipeline_id": ("STRING", "daily"),
            "p_credential_id": ("STRING", "internal"),
            "p_run_id": ("STRING", run_id),
        }
        return {
            "procedure": subs.SP_CALCULATE_DAILY_COSTS,
            "source": f"subscription/{subs.SP_CALCULATE_DAILY_COSTS}.sql",
            "dataset": dataset,
            "count_rows_in": subs.DAILY_COSTS_TABLE,
            "args": [{"name": n, "type": t, "value": v} for n, (t, v) in values.items()],
        }

    daily_costs = _ref(runtime, "procatomic", subs.DAILY_COSTS_TABLE)

    def rows_by_run() -> dict[str, int]:
        rows = wh.query(
            f"SELECT x_run_id, COUNT(*) AS n FROM {daily_costs}"
            " WHERE x_pipeline_id = 'daily' GROUP BY x_run_id"
        )
        return {r["x_run_id"]: r["n"] for r in rows}

    logs: list[str] = []
    first = ProcedureExecutor().run(
        _step(runtime, "procatomic", "subscription/costs/daily", config("r1"), logs)
    )
    assert first.rows_written == 2  # one plan, two days
    assert rows_by_run() == {"r1": 2}

    overflowing = _plan("s2", "100000000000000000000", 10**12)  # 1e32: NUMERIC ends at 1e29
    wh.load_rows(dataset, subs.PLANS_TABLE, subs.PLANS_COLUMNS, [overflowing], replace=False)
    rerun = _step(runtime, "procatomic", "subscription/costs/daily", config("r2"), logs)
    with pytest.raises(BadRequest, match="Overflow"):
        ProcedureExecutor().run(rerun)
    assert rows_by_run() == {"r1": 2}  # the DELETE rolled back with the failed INSERT

    # The same CALL outside a transaction: the DELETE stays, the slice is gone. (So the
    # failure above did come after the DELETE, and the transaction is what kept the rows.)
    procedure = _ref(runtime, "procatomic", subs.SP_CALCULATE_DAILY_COSTS)
    arguments = ", ".join(ProcedureArg(**a).as_literal() for a in config("r2")["args"])
    with pytest.raises(BadRequest, match="Overflow"):
        wh.run_script(f"CALL {procedure}({arguments})")
    assert rows_by_run() == {}


def test_the_cloud_step_calls_the_procedures_sync_deploys(runtime: EmbeddedRuntime) -> None:
    """cloud.focus_convert runs the very bodies `procedures sync` deploys (each file names
    its fragments), re-created only when the record differs, or when one was dropped."""
    new_org(runtime, "proccloud")
    wh = runtime.services.warehouse
    dataset = runtime.services.settings.org_dataset("proccloud")
    assert {f"sp_cloud_{n}_gcp" for n in ("1_convert_to_focus", "2_reconcile")} <= {
        p.name for p in procedure_files()
    }
    load_sample_export(wh, "proccloud_src", "export", START, 1, hours=1)
    logs: list[str] = []
    source = {"source_project": wh.project_id, "source_dataset": "proccloud_src"}
    extract = {"dataset": dataset, **source, "source_table": "export"}
    GcpBqEtl().run(_step(runtime, "proccloud", "gcp/cost/billing", extract, logs, days=1))
    convert = _step(
        runtime,
        "proccloud",
        "gcp/cost/billing",
        {"provider": "gcp", "dataset": dataset},
        logs,
        days=1,
    )

    def deployed_in_one_run() -> list[str]:
        logs.clear()
        CloudFocusConvert().run(convert)
        assert [line for line in logs if line.startswith("CALL ")] == [
            f"CALL {dataset}.sp_cloud_1_convert_to_focus_gcp",
            f"CALL {dataset}.sp_cloud_2_reconcile_gcp",
        ]
        return [line.split()[1] for line in logs if line.startswith("deployed ")]

    report = sync_procedures(runtime.services, "proccloud")
    assert {p["status"] for p in report[0]["procedures"]} == {"created"}
    assert deployed_in_one_run() == []  # what sync deployed is current
    wh.run_script(f"DROP PROCEDURE {_ref(runtime, 'proccloud', 'sp_cloud_2_reconcile_gcp')}")
    assert deployed_in_one_run() == []
    assert any("sp_cloud_2_reconcile_gcp was missing; re-creating it" in line for line in logs)
    # an older body recorded: the step deploys the files' (and records them, as sync would)
    wh.query(
        f"UPDATE {_ref(runtime, 'proccloud', VERSIONS_TABLE)} SET sha256 = 'old' "
        "WHERE procedure LIKE 'sp_cloud_%_gcp'"
    )
    assert deployed_in_one_run() == [
        f"{dataset}.sp_cloud_1_convert_to_focus_gcp",
        f"{dataset}.sp_cloud_2_reconcile_gcp",
    ]
    report = sync_procedures(runtime.services, "proccloud")
    assert {p["status"] for p in report[0]["procedures"]} == {"unchanged"}


def test_cli_lists_syncs_and_runs_migrations(
    runtime: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    new_org(runtime, "proccli")

    class Borrowed:  # the verbs close their runtime; this one outlives each verb
        services = runtime.services

        def __enter__(self) -> Borrowed:
            return self

        def __exit__(self, *_: object) -> None:
            pass

    monkeypatch.setattr(procedures_cli, "_runtime", Borrowed)
    assert main(["procedures", "list", "--org", "proccli"]) == 0
    assert re.search(
        r"^sp_genai_3_convert_to_focus\s+genai/\S+\s+False\s+False", capsys.readouterr().out, re.M
    )
    assert main(["procedures", "sync", "--all"]) == 0
    assert re.search(
        r"^proccli\s+sp_genai_3_convert_to_focus\s+created", capsys.readouterr().out, re.M
    )
    assert main(["procedures", "sync", "--org", "proccli"]) == 0
    out = capsys.readouterr().out
    assert "created" not in out
    assert out.count("unchanged") == len(procedure_files())
    assert main(["migrations", "list"]) == 0
    assert "002_create_daily_cost_view" in capsys.readouterr().out
    assert (
        main(["migrations", "run", "create_daily_cost_view", "--org", "proccli", "--dry-run"]) == 0
    )
    out = capsys.readouterr().out
    assert "CREATE OR REPLACE VIEW `" in out
    assert re.search(r"^proccli\s+\S+\s+would_apply", out, re.M)
    assert main(["migrations", "run", "create_daily_cost_view", "--all"]) == 0
    assert re.search(r"^proccli\s+proccli_test\s+applied", capsys.readouterr().out, re.M)
    assert main(["migrations", "run", "nope", "--all"]) == 2
    assert "migration nope not found" in capsys.readouterr().err
