"""`pipelines run gcp/cost/billing` then `pipelines reconcile` and `focus check`, in-process."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shared.cli import main
from shared.cloud.gcp_sample import load_sample_export
from shared.runtime import EmbeddedRuntime

pytestmark = pytest.mark.warehouse


def test_run_reconcile_and_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PIPELINES_HOME", str(tmp_path))
    assert main(["org", "create", "cli_cloud"]) == 0
    with EmbeddedRuntime() as rt:
        load_sample_export(rt.warehouse, "billing_src", "export", date(2026, 10, 1), 2)
        project = rt.warehouse.project_id
    run = [
        "run",
        "cli_cloud",
        "gcp/cost/billing",
        "--start-date",
        "2026-10-01",
        "--end-date",
        "2026-10-02",
        "--param",
        f"source_project={project}",
        "--param",
        "source_dataset=billing_src",
        "--param",
        "source_table=export",
    ]
    assert main(run) == 0, capsys.readouterr().out
    capsys.readouterr()
    assert main(["reconcile", "cli_cloud", "--start", "2026-10-01", "--end", "2026-10-01"]) == 0
    out = capsys.readouterr().out
    assert "2 day/currency totals, 0 beyond one cent" in out  # USD and EUR on Oct 1
    assert "EUR" in out
    assert "MISMATCH" not in out
    assert main(["focus", "check", "cli_cloud", "--source", "gcp"]) == 0
    assert "0 rules violated" in capsys.readouterr().out
    assert main(["reconcile", "cli_cloud", "--start", "Oct 1"]) == 2
