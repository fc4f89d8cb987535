"""The pipelines command, in-process, on a temporary PIPELINES_HOME (its own warehouse)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.subscriptions import sample_subscription_plans
from shared.domain.saas_subscriptions import PLANS_COLUMNS, PLANS_TABLE
from shared.entrypoints.cli.main import main

pytestmark = pytest.mark.warehouse


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PIPELINES_HOME", str(tmp_path))
    return tmp_path


def test_org_run_status_history_sql(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["org", "create", "cli_org", "--plan", "starter"]) == 0
    created = capsys.readouterr().out
    assert re.search(r"API key \(shown once, store it now\): pk_cli_org_\S+", created)
    assert main(["org", "create", "cli_org"]) == 2  # exists: a clear error, not a traceback
    assert "already exists" in capsys.readouterr().err

    with EmbeddedRuntime() as runtime:  # seed the org's subscriptions
        runtime.warehouse.load_rows(
            "cli_org_local",
            PLANS_TABLE,
            PLANS_COLUMNS,
            sample_subscription_plans("cli_org", date(2026, 10, 1)),
        )
    code = main(
        [
            "run",
            "cli_org",
            "subscription/costs/subscription_cost",
            "--start-date",
            "2026-10-01",
            "--end-date",
            "2026-10-03",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "convert_to_focus" in out
    assert out.rstrip().endswith("run completed")
    run_id = re.search(r"^run (\S+)", out, re.M).group(1)  # type: ignore[union-attr]

    assert main(["status", "cli_org", run_id]) == 0
    status = capsys.readouterr().out
    assert "completed" in status
    assert "calculate_daily_costs" in status

    assert main(["history", "cli_org", "--status", "completed"]) == 0
    assert run_id in capsys.readouterr().out

    assert (
        main(
            [
                "sql",
                "SELECT COUNT(*) AS n FROM `local.cli_org_local.cost_data_standard_1_3`",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == {"n": 3 * 10}  # 10 billed plans on Oct 1-3


def test_run_failures_exit_non_zero(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "ghost", "subscription/costs/subscription_cost"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["run", "ghost", "not-a-pipeline"]) == 2
    err = capsys.readouterr().err
    assert "pipeline must be 'provider/domain/pipeline', got 'not-a-pipeline'" in err


def test_validate_reports_every_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    assert re.search(r"\d+ pipeline configs, 0 invalid", capsys.readouterr().out)
