"""The operating verbs of the pipelines CLI, on a test runtime."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.states import StepStatus
from shared.entrypoints.cli.commands import ops
from shared.entrypoints.cli.main import main
from tests.support.runtime import DAILY_SCHEDULE, lend_runtime, new_org, record_pipeline

PIPELINES: dict[str, dict[str, Any]] = {
    "subscription/costs/daily": record_pipeline(
        "daily", config={"sleep_seconds": 0.02}, schedule=DAILY_SCHEDULE
    ),
    "subscription/costs/slow": record_pipeline("slow", "wait", {"sleep_seconds": 60}),
}
pytestmark = pytest.mark.pipelines(PIPELINES)
BACKFILL = ["backfill", "acme", "subscription/costs/daily"]
JANUARY_1_TO_5 = ["--start-date", "2026-01-01", "--end-date", "2026-01-05"]


@pytest.fixture
def runtime(runtime: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch) -> EmbeddedRuntime:
    """The shared runtime, with org acme, lent to the CLI's operating verbs."""
    new_org(runtime, "acme")
    lend_runtime(monkeypatch, ops, runtime)
    return runtime


def test_backfill_shows_progress_and_a_table(
    runtime: EmbeddedRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*BACKFILL, *JANUARY_1_TO_5, "--max-concurrent", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "(5 to run, 0 skipped by --reprocess none, at most 2 at once)" in out
    assert "[##############################] 5/5  running 0  completed 5  failed 0" in out
    assert len(re.findall(r"^2026-01-0\d\s+\S+\s+completed$", out, re.M)) == 5
    # again with the default policy: every day completed, nothing to run
    assert main([*BACKFILL, *JANUARY_1_TO_5]) == 0
    assert "(0 to run, 5 skipped" in capsys.readouterr().out


def test_logs_and_cancel(runtime: EmbeddedRuntime, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import date

    from shared.handlers.dispatch import RunRequest, dispatch_run

    org = runtime.services.store.get_org("acme")
    assert org is not None
    run = dispatch_run(
        runtime.services,
        org,
        RunRequest("acme", "subscription", "costs", "slow", date(2026, 1, 1), date(2026, 1, 1)),
    )
    # Cancel while the step runs (cancelled too early, it would be skipped, never started).
    deadline = time.monotonic() + 30
    while runtime.services.store.get_steps(run.run_id)["wait"].status is not StepStatus.RUNNING:
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.01)
    assert main(["cancel", "acme", run.run_id, "--reason", "not needed"]) == 0
    out = capsys.readouterr().out
    assert f"run {run.run_id} cancelled" in out
    assert runtime.bus.drain(10)
    assert main(["logs", "acme", run.run_id, "--transitions"]) == 0
    assert "cancelled: not needed" in capsys.readouterr().out
    assert main(["logs", "acme", run.run_id]) == 0
    assert "attempt 1 started (test.record)" in capsys.readouterr().out
    assert main(["logs", "acme", run.run_id, "--steps"]) == 0
    assert re.search(r"^wait\s+cancelled", capsys.readouterr().out, re.M)
    assert main(["cancel", "acme", run.run_id]) == 2  # finished: a clear error
    assert "already cancelled" in capsys.readouterr().err
    assert main(["logs", "globex", run.run_id]) == 2
    assert "not found" in capsys.readouterr().err


def test_schedules_create_list_trigger(
    runtime: EmbeddedRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schedules", "create", "acme", "subscription/costs/daily"]) == 0
    created = capsys.readouterr().out
    schedule_id = re.search(r"(sch_\w+)", created).group(1)  # type: ignore[union-attr]
    assert "0 4 * * *" in created
    assert main(["schedules", "list", "--org", "acme"]) == 0
    assert schedule_id in capsys.readouterr().out
    assert main(["schedules", "trigger", schedule_id]) == 0
    fired = capsys.readouterr().out
    assert re.search(rf"^{schedule_id}\s+\S+\s+\S+\s+dispatched\s+1", fired, re.M)
    assert main(["schedules", "trigger", schedule_id]) == 0
    assert "nothing fired" in capsys.readouterr().out
    assert runtime.bus.drain(10)
    assert main(["schedules", "create", "acme", "subscription/costs/slow"]) == 2
    assert "no default schedule" in capsys.readouterr().err


def test_quota_jobs(runtime: EmbeddedRuntime, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quotas", "daily"]) == 0
    assert re.search(r"^acme\s+\d{4}-\d\d-\d\d\s+0\s+100\s+0$", capsys.readouterr().out, re.M)
    assert main(["quotas", "monthly"]) == 0
    assert "purged 0 released reservation rows" in capsys.readouterr().out
    assert main(["quotas", "sweep"]) == 0
    assert "(no rows)" in capsys.readouterr().out


def test_notifications_test_and_history(
    runtime: EmbeddedRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.receivers import webhook_receiver

    with webhook_receiver() as hook:
        runtime.notifier.set_org_settings(
            "acme", {"events": {"STEP_FAILURE": ["slack"]}, "slack": {"webhook_url": hook.url}}
        )
        assert main(["notifications", "test", "acme", "--event", "STEP_FAILURE"]) == 0
        assert re.search(
            r"STEP_FAILURE\s+slack\s+http://127\.0\.0\.1:\d+/…\s+sent\s+1", capsys.readouterr().out
        )
        assert len(hook.posts) == 1
    assert main(["notifications", "history", "acme"]) == 0
    assert "sent" in capsys.readouterr().out
    assert main(["notifications", "test", "nobody"]) == 2
    assert "does not exist" in capsys.readouterr().err
