"""The product frontend's TypeScript client (tests/client/src, tsc --strict) against the
real API over HTTP: it runs, polls, lists, cancels, schedules and triggers through the
server actions of CLIENT_CONTRACT.md and checks every field it reads; this test then
asserts on what came back. Node and TypeScript are the pinned ones `make client` installs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tests.support.processors  # noqa: F401 - registers test.record / test.transform
from shared.bootstrap.embedded import EmbeddedRuntime
from shared.entrypoints.http.document import openapi_document
from shared.handlers import scheduler
from shared.handlers.access import ROOT_KEY_ENV
from tests.support.live_api import serve_api
from tests.support.runtime import make_runtime, new_org, write_configs

CLIENT = Path(__file__).resolve().parent
NODE = CLIENT / "node_modules" / ".bin" / "node"
TSC = CLIENT / "node_modules" / ".bin" / "tsc"
ROOT_KEY = "contract-root-key-0123456789"
DEMO = "subscription/costs/contract_demo"
SLOW = "subscription/costs/contract_slow"

pytestmark = pytest.mark.warehouse


def _step(step_id: str, ps_type: str, **config: Any) -> dict[str, Any]:
    return {
        "step_id": step_id,
        "ps_type": ps_type,
        "timeout_seconds": 120,
        "retry": {"max_attempts": 1, "backoff_seconds": 0},
        "config": config,
    }


def _pipeline(pipeline_id: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "pipeline_id": pipeline_id,
        "name": pipeline_id.replace("_", " ").title(),
        "description": "a pipeline the TypeScript client drives",
        "provider": "subscription",
        "domain": "costs",
        "version": "1.0.0",
        "schedule": "0 4 * * *",
        "parameters": {"label": {"type": "string", "description": "a tag"}},
        "steps": steps,
    }


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    extract = _step("extract", "test.record", sleep_seconds=0.3)
    transform = {
        **_step("transform", "test.transform", sleep_seconds=0.5),
        "depends_on": ["extract"],
    }
    return write_configs(
        tmp_path_factory.mktemp("contract"),
        {
            DEMO: _pipeline("contract_demo", [extract, transform]),
            SLOW: _pipeline("contract_slow", [_step("wait", "test.record", sleep_seconds=60)]),
        },
    )


@pytest.fixture
def runtime(tmp_path: Path, configs: Path, session_warehouse: Any) -> Iterator[EmbeddedRuntime]:
    with make_runtime(tmp_path, configs, warehouse=session_warehouse) as rt:
        yield rt


def _compile() -> None:
    for tool in (NODE, TSC):
        assert tool.exists(), f"{tool} is missing: `make client` installs the pinned node and tsc"
    built = subprocess.run(
        [str(NODE), str(TSC), "-p", str(CLIENT)], capture_output=True, text=True, timeout=300
    )
    assert built.returncode == 0, f"tsc --strict failed:\n{built.stdout}{built.stderr}"


def test_the_frontend_client_runs_lists_cancels_and_schedules_through_the_api(
    runtime: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _compile()
    monkeypatch.setenv(ROOT_KEY_ENV, ROOT_KEY)
    _, key = new_org(runtime, "contractco")
    schedule = scheduler.create_schedule(
        runtime.services, {"org_slug": "contractco", "pipeline": DEMO, "cron": "0 4 * * *"}
    )
    with serve_api(runtime.services, monkeypatch) as url:
        ran = subprocess.run(
            [str(NODE), str(CLIENT / "dist" / "check.js")],
            capture_output=True,
            text=True,
            timeout=300,
            env={
                **os.environ,
                "CONTRACT_API_URL": url,
                "CONTRACT_ORG": "contractco",
                "CONTRACT_ORG_KEY": key,
                "CONTRACT_ROOT_KEY": ROOT_KEY,
                "CONTRACT_PIPELINE": DEMO,
                "CONTRACT_SLOW_PIPELINE": SLOW,
                "CONTRACT_SCHEDULE_ID": schedule.schedule_id,
            },
        )
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)

    assert "subscription/costs/contract_demo" in report["pipelines"]
    run = report["run"]
    assert run["status"] == "completed"
    assert run["progress"] == 1
    assert run["records_processed"] == 2  # test.record writes one row per step
    assert run["completed_at"]
    assert run["started_at"]
    listed = report["history_run"]
    assert (listed["provider"], listed["domain"], listed["pipeline"]) == (
        "subscription",
        "costs",
        "contract_demo",
    )
    assert listed["parameters"] == {"label": "contract"}  # sent as a top-level field
    assert run["run_id"] in report["history_by_provider"]
    statuses = [
        t.to_status
        for t in runtime.services.store.list_transitions("contractco", run["run_id"])
        if t.step_id is None
    ]
    assert statuses == ["pending", "validating", "running", "processing", "completed"]

    assert report["cancel"] == {"success": True, "status": "cancelled"}
    assert report["cancelled_run"]["status"] == "cancelled"
    assert report["unknown_pipeline"] == {
        "success": False,
        "error": "Pipeline not found: subscription/costs/nope",
    }
    assert report["unknown_provider"] == {"success": False, "error": "Unknown provider: nosuch"}

    (mine,) = [s for s in report["schedules"] if s["schedule_id"] == schedule.schedule_id]
    assert (mine["cron_expression"], mine["is_enabled"], mine["pipeline"]) == (
        "0 4 * * *",
        True,
        "contract_demo",
    )
    assert mine["next_run_at"]
    assert report["disable"] == {"success": True}
    assert report["disabled"]["is_enabled"] is False
    assert report["enable"] == {"success": True}
    assert report["triggered"]["status"] == "completed"
    after = scheduler.get_schedule(runtime.services, schedule.schedule_id)
    assert (after.cron, after.enabled) == ("5 4 * * *", True)


INTERFACE = re.compile(r"export interface (\w+) \{(.*?)\n\}", re.DOTALL)
FIELD = re.compile(r"^\s+(\w+)(\??):", re.MULTILINE)
# contract interface -> the API's schema that answers it
ANSWERED_BY = {
    "PipelineRun": "Run",
    "PipelineRunStatus": "Run",
    "PipelineSchedule": "Schedule",
    "PipelineConfig": "Pipeline",
    "ParameterDefinition": "Parameter",
}


def test_the_client_interfaces_and_openapi_json_name_the_same_fields() -> None:
    """Every field of the client's contract interfaces is in the schema the API documents
    for it (openapi.json is generated from the response models), required ones required."""
    source = (CLIENT / "src" / "contract.ts").read_text()
    interfaces = {name: FIELD.findall(body) for name, body in INTERFACE.findall(source)}
    schemas = openapi_document()["components"]["schemas"]
    assert set(ANSWERED_BY) <= set(interfaces)
    for interface, schema_name in ANSWERED_BY.items():
        schema = schemas[schema_name]
        for name, optional in interfaces[interface]:
            assert name in schema["properties"], f"{interface}.{name} not in {schema_name}"
            if not optional and interface != "PipelineRunStatus":
                assert name in schema.get("required", []), (
                    f"{interface}.{name} is required but {schema_name} may leave it out"
                )
