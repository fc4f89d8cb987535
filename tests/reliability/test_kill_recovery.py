"""kill -9 of the embedded runtime while a step writes FOCUS rows (issue 11).

The next command must start (DuckDB replays its WAL; SQLite its journal), find the
dead process's run and sweep it at once (no live runtime holds the home lock), and a
rerun must complete with every FOCUS slice written exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from shared.bootstrap.embedded import ORPHANED_RUN, EmbeddedRuntime
from shared.config.settings import Settings
from shared.devtools.emulators import free_port, wait_http
from shared.domain.focus import COST_TABLE
from shared.domain.sql import table_ref
from shared.domain.states import RunStatus

pytestmark = [pytest.mark.warehouse, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DEMO_ORG = "acme_demo"
WRITING = "convert_to_focus                 running"  # the demo's first FOCUS write begins


def _pipelines(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from shared.entrypoints.cli.main import main; raise SystemExit(main())",
            *args,
        ],
        cwd=REPO,
        env={**os.environ, "PIPELINES_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _kill_when_writing(process: subprocess.Popen[str], delay: float) -> str:
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if WRITING in line:
            time.sleep(delay)
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait(30)
    assert process.returncode == -signal.SIGKILL, "".join(seen)
    return "".join(seen)


def _assert_recovered(home: Path, killed_run: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The killed run swept with its reason, no slot held, the newest subscription run
    completed, and every FOCUS slice written by exactly one run, the rerun's holding
    exactly the rows it reported."""
    monkeypatch.setenv("PIPELINES_HOME", str(home))
    with EmbeddedRuntime(Settings.from_env()) as runtime:
        services = runtime.services
        stale = services.store.get_run(DEMO_ORG, killed_run)
        assert stale is not None
        assert stale.status is RunStatus.FAILED
        assert stale.error == ORPHANED_RUN
        assert all(s.status.terminal for s in stale.steps.values())
        assert services.store.active_reservations() == []
        runs = services.store.list_runs(DEMO_ORG)
        assert [r for r in runs if not r.status.terminal] == []
        subscription = [
            r
            for r in runs
            if r.pipeline_ref == "subscription/costs/subscription_cost"
            and r.status is RunStatus.COMPLETED
        ]
        focus = table_ref(
            services.warehouse.project_id, services.settings.org_dataset(DEMO_ORG), COST_TABLE
        )
        slices = services.warehouse.query(
            "SELECT x_pipeline_id, DATE(ChargePeriodStart) AS day,"
            " COUNT(DISTINCT x_run_id) AS runs, COUNTIF(x_run_id = @rerun) AS rerun_rows"
            f" FROM {focus} GROUP BY x_pipeline_id, day",
            {"rerun": subscription[0].run_id},
        )
        assert slices
        assert all(s["runs"] == 1 for s in slices), slices
        rows = sum(s["rerun_rows"] for s in slices)
        assert rows == subscription[0].steps["convert_to_focus"].rows_written


@pytest.mark.parametrize("delay", [0.0, 0.3], ids=["as-the-write-starts", "mid-write"])
def test_demo_killed_mid_write_recovers_on_the_next_command(
    tmp_path: Path, delay: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _kill_when_writing(_pipelines(tmp_path, "demo"), delay)
    killed_run = first.split("run ", 1)[1].split()[0]

    rerun = _pipelines(tmp_path, "demo")
    output, _ = rerun.communicate(timeout=240)
    assert rerun.returncode == 0, output

    _assert_recovered(tmp_path, killed_run, monkeypatch)


def _api_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # the README's local API server, on the embedded runtime
        [
            str(Path(sys.executable).parent / "functions-framework"),
            "--source",
            "functions/api/main.py",
            "--target",
            "api",
            "--port",
            str(port),
        ],
        cwd=REPO,
        env={**os.environ, "PIPELINES_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_http(f"http://127.0.0.1:{port}/health", timeout=60, process=process)
    return process


def _call(port: int, key: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/pipelines/{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"X-API-Key": key, "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _step_status(run: dict[str, Any], step_id: str) -> str:
    return str(next(s["status"] for s in run["steps"] if s["step_id"] == step_id))


def test_api_server_killed_mid_write_recovers_on_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = _pipelines(tmp_path, "demo")  # the org, its API key and subscription plans
    output, _ = setup.communicate(timeout=240)
    assert setup.returncode == 0, output
    key = output.split("API key (shown once): ", 1)[1].split()[0]
    run_path = "run/acme_demo/subscription/costs/subscription_cost"
    window = {"start_date": "2026-10-01", "end_date": "2026-10-31"}

    port = free_port()
    server = _api_server(tmp_path, port)
    killed_run = _call(port, key, run_path, window)["run_id"]
    deadline = time.monotonic() + 120
    while _step_status(_call(port, key, f"runs/{killed_run}"), "convert_to_focus") != "running":
        assert time.monotonic() < deadline, "the FOCUS step never started"
        time.sleep(0.02)
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(30)

    server = _api_server(tmp_path, port)
    try:
        assert _call(port, key, f"runs/{killed_run}")["error"] == ORPHANED_RUN
        rerun = _call(port, key, run_path, window)["run_id"]
        while (status := _call(port, key, f"runs/{rerun}")["status"]) not in TERMINAL:
            assert time.monotonic() < deadline + 120, status
            time.sleep(0.1)
        assert status == "completed"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    _assert_recovered(tmp_path, killed_run, monkeypatch)


TERMINAL = {"completed", "failed", "cancelled"}
