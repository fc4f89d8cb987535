"""No query the engine builds lacks the org scope.

A representative workload (real subscription, AWS CUR and GCP billing pipelines for two
orgs through the HTTP API, then status/history/log reads, the FOCUS checker and the
reconciliation) runs over recording wrappers of the Warehouse, StateStore and
CredentialStore ports. Every SQL statement must name the acting org's dataset
(``{org}_{env}``) and no other org's; every state-store call must be keyed by the acting
org (or by a run of that org). A static pass over procedures/**/*.sql and the SQL strings
in shared/ checks that table references are built from the ``{dataset}`` placeholder or
``table_ref`` (never a literal dataset name).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.aws_sample import write_sample_cur
from shared.demo.gcp_sample import load_sample_export
from shared.demo.subscriptions import sample_subscription_plans
from shared.domain.cloud_billing import GCP_RAW_TABLE
from shared.domain.focus import COST_TABLE
from shared.domain.meta import META_DATASET
from shared.domain.saas_subscriptions import PLANS_COLUMNS, PLANS_TABLE
from shared.domain.sql import table_ref
from shared.domain.states import RunStatus
from shared.handlers.focus_check import check_focus
from shared.handlers.reconciliation import reconciliation_rows
from shared.ports import CredentialStore, StateStore, Warehouse
from tests.security.recording import Recorded, Recorder, acting_as, attribute_handlers
from tests.support.http import Answer, call_api
from tests.support.lineage import assert_ingestion_dates
from tests.support.receivers import webhook_receiver
from tests.support.runtime import REPO, make_runtime, new_org

pytestmark = pytest.mark.warehouse

ORGS = ("scope_acme", "scope_globex")
START, END = date(2026, 10, 1), date(2026, 10, 2)
EXPORT_TABLE = "gcp_billing_export_resource_v1_0SCOPE"
# Each org runs real pipelines; together they cover the procedure executor, the billing
# file load, the BigQuery-to-BigQuery extract and the FOCUS convert + reconcile (the
# emulator runs one job at a time, so every run costs seconds).
PIPELINES = {
    ORGS[0]: ("subscription/costs/subscription_cost", "aws/cost/billing"),
    ORGS[1]: ("gcp/cost/billing",),
}

# StateStore methods by how they are keyed.
ORG_KEYED = {
    "get_org",
    "reserve_quota",
    "release_concurrent",
    "quota_usage",
    "get_run",
    "list_runs",
    "transition_run",
    "list_transitions",
    "list_logs",
}
ORG_OBJECT = {"create_org", "update_org", "create_run"}  # first argument carries org_slug
RUN_KEYED = {
    "claim_step_attempt",
    "finish_step_attempt",
    "transition_step",
    "get_steps",
    "step_statuses",
    "has_unfinished_steps",
    "append_log",
}
CROSS_ORG = {"list_orgs", "active_reservations", "purge_reservations"}  # operator jobs only
CREDENTIAL_KEYED = {"get", "list", "put", "delete"}
WAREHOUSE_SQL = {"query", "run_script"}
WAREHOUSE_DATASET = {"ensure_dataset", "ensure_table", "load_rows", "replace_slice"}
BACKQUOTED = re.compile(r"`([^`]+)`")
# The meta tables (organizations.pipeline_runs / pipeline_schedules) are one per deployment,
# shared by every org as the client contract names them: a statement on them is scoped by
# the org_slug literal of the row it writes or the rows it reads.
META_ORG = re.compile(r"'([\w-]+)' AS org_slug|\borg_slug = '([\w-]+)'")


@dataclass
class Workload:
    runtime: EmbeddedRuntime
    calls: list[Recorded]
    keys: dict[str, str]
    sources: dict[str, str]  # org -> the export dataset its own runs name
    cost_alerts: int = 0  # COST_THRESHOLD / ANOMALY_DETECTED posts the webhook received

    def dataset(self, org: str) -> str:
        return self.runtime.settings.org_dataset(org)

    def call(self, org: str, method: str, path: str, body: dict[str, Any] | None = None) -> Answer:
        headers = {"x-api-key": self.keys[org]}
        raw = json.dumps(body).encode() if body is not None else b""
        with acting_as(org):
            return call_api(self.runtime.services, method, path, headers, body=raw)


@pytest.fixture(scope="module")
def workload(
    tmp_path_factory: pytest.TempPathFactory, session_warehouse: Any
) -> Iterator[Workload]:
    root = tmp_path_factory.mktemp("scope")
    calls: list[Recorded] = []
    warehouse = cast(Warehouse, Recorder(session_warehouse, "warehouse", calls))
    with (
        pytest.MonkeyPatch.context() as mp,
        webhook_receiver() as hook,
        make_runtime(root, warehouse=warehouse) as rt,
    ):
        attribute_handlers(mp, rt.notifier)
        services = rt.services
        services.store = cast(StateStore, Recorder(services.store, "store", calls))
        services.credentials = cast(
            CredentialStore, Recorder(services.credentials, "credentials", calls)
        )
        work = Workload(rt, calls, {}, {})
        for org in ORGS:
            with acting_as(org):
                work.keys[org] = new_org(rt, org, credentials=("aws", "gcp"))[1]
                rt.warehouse.load_rows(
                    work.dataset(org),
                    PLANS_TABLE,
                    PLANS_COLUMNS,
                    sample_subscription_plans(org, START),
                )
                work.sources[org] = f"{org}_billing_src"
                load_sample_export(rt.warehouse, work.sources[org], EXPORT_TABLE, START, 2)
            write_sample_cur(root / "cur" / org / "cur.parquet", START, 2)
        _run_workload(work, root, hook.url)
        work.cost_alerts = len(hook.posts)
        yield work


def _run_workload(work: Workload, root: Path, webhook: str) -> None:
    window = {"start_date": START.isoformat(), "end_date": END.isoformat()}
    runs: dict[str, list[str]] = {}
    for org in ORGS:
        # cost notifications: after each completed run the notifier's pool queries the
        # org's FOCUS rows (threshold and anomaly checks), off any request or step thread
        settings = {
            "events": {"COST_THRESHOLD": ["slack"], "ANOMALY_DETECTED": ["slack"]},
            "cost_threshold": {"daily": {"USD": 1}},
            "slack": {"webhook_url": webhook},
        }
        response = work.call(org, "PUT", f"/api/v1/notifications/{org}/settings", settings)
        assert response.status == 200, response.body
        bodies: dict[str, dict[str, Any]] = {
            "subscription/costs/subscription_cost": window,
            "aws/cost/billing": {**window, "parameters": {"cur_uri": str(root / "cur" / org)}},
            "gcp/cost/billing": {
                **window,
                "parameters": {
                    "source_project": work.runtime.warehouse.project_id,
                    "source_dataset": work.sources[org],
                    "source_table": EXPORT_TABLE,
                },
            },
        }
        for pipeline in PIPELINES[org]:
            body = bodies[pipeline]
            response = work.call(org, "POST", f"/api/v1/pipelines/run/{org}/{pipeline}", body)
            assert response.status == 202, response.body
            runs.setdefault(org, []).append(response.body["run_id"])
    assert work.runtime.bus.drain(120)
    assert work.runtime.notifier.flush(30)
    for org in ORGS:
        for run_id in runs[org]:
            status = work.call(org, "GET", f"/api/v1/pipelines/status/{org}/{run_id}")
            assert status.body["status"] == RunStatus.COMPLETED.value, status.body
            for tail in ("", "/steps", "/transitions", "/download"):
                logs = work.call(org, "GET", f"/api/v1/pipelines/logs/{org}/{run_id}{tail}")
                assert logs.status == 200, logs.body
        count = len(PIPELINES[org])
        assert len(work.call(org, "GET", f"/api/v1/pipelines/history/{org}").body["runs"]) == count
        assert len(work.call(org, "GET", "/api/v1/pipelines/runs").body["runs"]) == count
        validate = work.call(
            org, "POST", f"/api/v1/validator/validate/{org}", {"pipeline": "aws/cost/billing"}
        )
        assert validate.status == 200, validate.body
        with acting_as(org):
            report = check_focus(work.runtime.warehouse, work.dataset(org), org)
            assert report.rows_checked > 0
            assert report.ok, [(r.rule_id, r.samples) for r in report.failed]
            recon = reconciliation_rows(work.runtime.warehouse, work.dataset(org), org)
            assert recon
            assert all(r["ok"] for r in recon), recon


def _datasets(sql: str, project: str) -> set[str]:
    """Datasets a statement names through back-quoted project.dataset.table refs."""
    found: set[str] = set()
    for ref in BACKQUOTED.findall(sql):
        parts = ref.split(".")
        if len(parts) >= 3:
            found.add(parts[1] if parts[0] == project else f"{parts[0]}:{parts[1]}")
        elif len(parts) == 2:  # project.dataset (a procedure's home) or dataset.table
            found.add(parts[1] if parts[0] == project else parts[0])
    return found


def _sql_problem(work: Workload, call: Recorded) -> str | None:
    sql = str(call.args[0] if call.args else call.kwargs["sql"])
    named = _datasets(sql, work.runtime.warehouse.project_id)
    if named == {META_DATASET}:
        return _meta_problem(sql, call.org)
    org_datasets = {work.dataset(org): org for org in ORGS}
    orgs = {org_datasets[d] for d in named if d in org_datasets}
    if len(orgs) != 1:
        return f"names {len(orgs)} org datasets ({sorted(named)})"
    (org,) = orgs
    if call.org is not None and org != call.org:
        return f"acting for {call.org} but names {org}'s dataset"
    foreign = named - {work.dataset(org), work.sources[org]}
    if foreign:
        return f"names datasets outside {org}'s scope: {sorted(foreign)}"
    return None


def _meta_problem(sql: str, org: str | None) -> str | None:
    scoped = {a or b for a, b in META_ORG.findall(sql)}
    if not scoped:
        return "names the meta dataset without an org_slug"
    if scoped != {org}:
        return f"acting for {org} but names meta rows of {sorted(scoped)}"
    return None


def _dataset_problem(work: Workload, call: Recorded) -> str | None:
    dataset = call.args[0] if call.args else call.kwargs["dataset"]
    if dataset == META_DATASET and call.method in ("ensure_dataset", "ensure_table"):
        return None  # the shared meta tables' DDL holds no org's rows (writes: _meta_problem)
    allowed = {work.dataset(call.org), work.sources[call.org]} if call.org else set()
    if dataset not in allowed:
        return f"writes dataset {dataset} while acting for {call.org}"
    if call.method == "replace_slice":
        key = call.args[4] if len(call.args) > 4 else call.kwargs["key"]
        if key.org_slug != call.org:
            return f"replaces {key.org_slug}'s slice while acting for {call.org}"
    return None


def _store_problem(work: Workload, call: Recorded, run_orgs: dict[str, str]) -> str | None:
    if call.org is None:
        return "made outside any org's request or step"
    method, first = call.method, call.args[0] if call.args else None
    if method in ORG_KEYED or (call.port == "credentials" and method in CREDENTIAL_KEYED):
        org = first
    elif method in ORG_OBJECT:
        org = getattr(first, "org_slug", None)
    elif method in RUN_KEYED:
        org = run_orgs.get(str(first))
    elif method in CROSS_ORG:
        return "reads across orgs"
    else:
        return "is not classified in this test (ORG_KEYED / RUN_KEYED / ...)"
    return None if org == call.org else f"keyed by {org} while acting for {call.org}"


def test_the_workload_exercised_every_port(workload: Workload) -> None:
    methods = {(c.port, c.method) for c in workload.calls}
    assert {("warehouse", m) for m in ("query", "run_script", "ensure_table", "load_rows")} <= (
        methods
    )
    for needed in ("get_run", "list_runs", "list_logs", "list_transitions", "claim_step_attempt"):
        assert ("store", needed) in methods
    assert ("credentials", "get") in methods
    statements = [c for c in workload.calls if c.method in WAREHOUSE_SQL]
    assert len(statements) > 25
    assert {c.org for c in statements} >= set(ORGS)
    # the cost checks ran on the notifier's pool, acting for the org of the run, and alerted
    assert any(c.org in ORGS and c.thread.startswith("notify") for c in statements)
    # runs were mirrored to the shared meta tables
    assert any(META_DATASET in str(c.args[0]) for c in statements if c.method == "run_script")
    assert workload.cost_alerts > 0


def test_every_warehouse_statement_is_scoped_to_its_org(workload: Workload) -> None:
    problems = []
    for call in workload.calls:
        if call.port != "warehouse":
            continue
        if call.method in WAREHOUSE_SQL:
            problem = _sql_problem(workload, call)
        elif call.method in WAREHOUSE_DATASET:
            problem = _dataset_problem(workload, call)
        else:
            problem = f"warehouse.{call.method} is not classified in this test"
        if problem:
            problems.append(f"{call.method} [{call.thread}] {problem}: {str(call.args)[:300]}")
    assert not problems, "\n".join(problems[:20])


def test_every_store_call_is_keyed_by_its_org(workload: Workload) -> None:
    inner = workload.runtime.services.store._inner  # type: ignore[attr-defined]
    run_orgs = {r.run_id: org for org in ORGS for r in inner.list_runs(org, limit=100)}
    problems = []
    for call in workload.calls:
        if call.port in ("store", "credentials"):
            problem = _store_problem(workload, call, run_orgs)
            if problem:
                problems.append(f"{call.port}.{call.method}{call.args[:2]} {problem}")
    assert not problems, "\n".join(sorted(set(problems))[:20])


def test_the_checks_flag_what_they_are_meant_to(workload: Workload) -> None:
    """The checks above are not vacuous: foreign, mixed and unscoped calls are reported."""
    a, b = ORGS
    project = workload.runtime.warehouse.project_id

    def sql(text: str, org: str | None = a) -> str | None:
        return _sql_problem(workload, Recorded("warehouse", "query", (text,), {}, org, "t"))

    def ref(org: str) -> str:
        return table_ref(project, workload.dataset(org), COST_TABLE)

    assert sql(f"SELECT 1 FROM {ref(a)} WHERE x_org_slug = @org") is None
    assert sql(f"SELECT 1 FROM {ref(b)}") == f"acting for {a} but names {b}'s dataset"
    assert "names 2 org datasets" in str(sql(f"SELECT 1 FROM {ref(a)} JOIN {ref(b)} USING (x)"))
    assert "names 0 org datasets" in str(sql("SELECT * FROM cost_data_standard_1_3"))
    assert "outside" in str(sql(f"SELECT 1 FROM {ref(a)}, `{project}.shared_dataset.t`"))
    runs = f"`{project}.{META_DATASET}.pipeline_runs`"
    assert sql(f"MERGE {runs} USING (SELECT '{a}' AS org_slug) ON FALSE") is None
    assert "meta rows of" in str(sql(f"MERGE {runs} USING (SELECT '{b}' AS org_slug) ON FALSE"))
    assert "without an org_slug" in str(sql(f"SELECT * FROM {runs}"))
    written = Recorded("warehouse", "load_rows", (workload.dataset(b), "t"), {}, a, "t")
    assert "writes dataset" in str(_dataset_problem(workload, written))
    run_orgs = {"run-of-b": b}

    def store(method: str, *args: Any, org: str | None = a) -> str | None:
        return _store_problem(workload, Recorded("store", method, args, {}, org, "t"), run_orgs)

    assert store("get_run", a, "x") is None
    assert store("get_run", b, "x") == f"keyed by {b} while acting for {a}"
    assert store("get_steps", "run-of-b") == f"keyed by {b} while acting for {a}"
    assert store("list_orgs") == "reads across orgs"
    assert store("get_run", a, "x", org=None) == "made outside any org's request or step"
    assert "not classified" in str(store("some_new_read", a))


def test_every_row_the_workload_wrote_carries_its_ingestion_date(workload: Workload) -> None:
    checked: set[str] = set()
    for org in ORGS:
        counted = assert_ingestion_dates(workload.runtime.warehouse, workload.dataset(org))
        assert counted.get(COST_TABLE, 0) > 0, counted
        checked |= {table for table, rows in counted.items() if rows}
    # raw (AWS CUR, GCP export) and daily (subscription) tables were checked too
    assert len(checked) >= 4, checked


def test_an_org_cannot_name_another_orgs_dataset_as_its_export(workload: Workload) -> None:
    """The GCP export is named by run parameters: pointing them at another org's dataset in
    the service's own project must fail the step, copying nothing."""
    attacker, victim = ORGS
    response = workload.call(
        attacker,
        "POST",
        f"/api/v1/pipelines/run/{attacker}/gcp/cost/billing",
        {
            "start_date": "2026-10-05",
            "end_date": "2026-10-05",
            "parameters": {
                "source_project": workload.runtime.warehouse.project_id,
                "source_dataset": workload.dataset(victim),
                "source_table": GCP_RAW_TABLE,
            },
        },
    )
    assert response.status == 202, response.body
    run_id = response.body["run_id"]
    assert workload.runtime.bus.drain(60)
    run = workload.call(attacker, "GET", f"/api/v1/pipelines/status/{attacker}/{run_id}").body
    assert run["status"] == RunStatus.FAILED.value
    assert "another organization's dataset" in run["error"]
    raw = table_ref(
        workload.runtime.warehouse.project_id, workload.dataset(attacker), GCP_RAW_TABLE
    )
    copied = workload.runtime.warehouse.query(
        f"SELECT COUNT(*) AS n FROM {raw} WHERE x_run_id = @run", {"run": run_id}
    )
    assert copied[0]["n"] == 0


# -- static checks -----------------------------------------------------------------------

PROCEDURES = sorted((REPO / "procedures").rglob("*.sql"))
# In procedure files every table lives in the org dataset: `{project_id}.{dataset}.x`
# (a source export is `{source_project_id}.{source_dataset}.x`, named by the org's run).
PLACEHOLDER_REF = re.compile(
    r"^\{(project_id|source_project_id)\}\.\{(dataset|source_dataset)\}(\.[A-Za-z_{}][\w{}]*)?$"
)


def test_procedure_files_reference_tables_only_through_placeholders() -> None:
    assert len(PROCEDURES) > 10
    problems = []
    for path in PROCEDURES:
        sql = path.read_text()
        for ref in BACKQUOTED.findall(sql):
            if "." in ref and not PLACEHOLDER_REF.match(ref):
                problems.append(f"{path.relative_to(REPO)}: `{ref}`")
    assert not problems, "\n".join(problems)


SQL_START = re.compile(r"^\s*(SELECT|WITH|INSERT|UPDATE|DELETE|MERGE|CREATE|CALL|DROP)\b")
TABLE_WORD = re.compile(
    r"\b(?:FROM|JOIN|INTO|UPDATE|MERGE|TABLE)\s+(?:IF (?:NOT )?EXISTS\s+)?(`?\{\}`?|[\w.`-]+)"
)
SQLITE_ADAPTERS = sorted((REPO / "shared" / "adapters" / "sqlite").glob("*.py"))
# SQLite statements that need no org_slug: keyed by a run or backfill id the caller read
# through its org (the StateStore contract), or the operator's cross-org jobs.
SQLITE_KEYS = re.compile(r"\b(run_id = \?|run_id IN \(|backfill_id = \?)")
SQLITE_OPERATOR = re.compile(
    r"\b(FROM|UPDATE) (schedules|schedule_fires)\b"
    r"|^DELETE FROM quota_reservations WHERE concurrent_active = 0 AND month < \?$"
)


def _sql_strings(path: Path) -> Iterator[tuple[int, str]]:
    """The module's string literals and f-strings (placeholders as ``{}``) that are SQL
    statements; docstrings and the pieces of an f-string are not."""
    tree = ast.parse(path.read_text())
    skip = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    skip |= {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
    }
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if SQL_START.match(text):
            yield node.lineno, " ".join(text.split())


def test_bigquery_sql_in_shared_names_tables_through_references() -> None:
    """BigQuery SQL in shared/ names each table through a computed reference (table_ref,
    an f-string placeholder), never a bare or literal ``dataset.table``."""
    problems, seen = [], 0
    for path in sorted((REPO / "shared").rglob("*.py")):
        if path in SQLITE_ADAPTERS:
            continue
        for line, text in _sql_strings(path):
            seen += 1
            for target in TABLE_WORD.findall(text):
                if target.strip("`") != "{}" and target != "UNNEST":
                    problems.append(f"{path.relative_to(REPO)}:{line}: {target!r} in {text!r}")
    assert seen > 10
    assert not problems, "\n".join(problems)


def test_sqlite_statements_are_keyed_by_org_or_by_an_org_read_id() -> None:
    problems, seen = [], 0
    for path in SQLITE_ADAPTERS:
        for line, text in _sql_strings(path):
            if not re.match(r"(SELECT|UPDATE|DELETE)\b", text):
                continue
            seen += 1
            if "org_slug" in text or SQLITE_KEYS.search(text) or SQLITE_OPERATOR.search(text):
                continue
            problems.append(f"{path.relative_to(REPO)}:{line}: {text[:120]!r}")
    assert seen > 30
    assert not problems, "\n".join(problems)
