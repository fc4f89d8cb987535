"""kill -9 of the embedded runtime while a step writes FOCUS rows (issue 11).

The next command must start (DuckDB replays its WAL; SQLite its journal), find the
dead process's run and sweep it at once (no live runtime holds the home lock), and a
rerun must complete with every FOCUS slice written exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.domain.focus import COST_TABLE
from shared.domain.sql import table_ref
from shared.domain.states import RunStatus
from shared.runtime import ORPHANED_RUN, EmbeddedRuntime
from shared.settings import Settings

pytestmark = [pytest.mark.warehouse, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DEMO_ORG = "acme_demo"
WRITING = "convert_to_focus                 running"  # the demo's first FOCUS write begins


def _pipelines(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from shared.cli import main; raise SystemExit(main())", *args],
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


@pytest.mark.parametrize("delay", [0.0, 0.3], ids=["as-the-write-starts", "mid-write"])
def test_demo_killed_mid_write_recovers_on_the_next_command(
    tmp_path: Path, delay: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _kill_when_writing(_pipelines(tmp_path, "demo"), delay)
    killed_run = first.split("run ", 1)[1].split()[0]

    rerun = _pipelines(tmp_path, "demo")
    output, _ = rerun.communicate(timeout=240)
    assert rerun.returncode == 0, output

    monkeypatch.setenv("PIPELINES_HOME", str(tmp_path))
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
        completed = [
            r
            for r in runs
            if r.pipeline_ref == "subscription/costs/subscription_cost"
            and r.status is RunStatus.COMPLETED
        ]
        assert len(completed) == 1
        focus = table_ref(
            services.warehouse.project_id, services.settings.org_dataset(DEMO_ORG), COST_TABLE
        )
        slices = services.warehouse.query(
            "SELECT x_pipeline_id, DATE(ChargePeriodStart) AS day,"
            " COUNT(DISTINCT x_run_id) AS runs, COUNT(*) AS n"
            f" FROM {focus} GROUP BY x_pipeline_id, day"
        )
        assert slices
        assert all(s["runs"] == 1 for s in slices), slices
        subscription = sum(s["n"] for s in slices if s["x_pipeline_id"] == "subscription_cost")
        written = completed[0].steps["convert_to_focus"].rows_written
        assert subscription == written
