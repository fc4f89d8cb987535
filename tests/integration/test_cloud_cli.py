"""`pipelines run gcp/cost/billing`, `reconcile` and `focus check`, in-process, on a
temporary PIPELINES_HOME (its own warehouse)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.gcp_sample import load_sample_export
from shared.domain.focus import COST_TABLE, COST_TABLE_COLUMNS
from shared.entrypoints.cli.main import main
from tests.support.focus_rows import good_row

pytestmark = pytest.mark.warehouse


def test_run_reconcile_and_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PIPELINES_HOME", str(tmp_path))
    assert main(["org", "create", "cli_cloud"]) == 0
    monkeypatch.setenv("GCP_TEST_KEY", "test-gcp-credential")
    assert main(["credentials", "set", "cli_cloud", "gcp", "--api-key-env", "GCP_TEST_KEY"]) == 0
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
    assert main(["focus", "check", "nobody_here"]) == 2

    # a bad row of another source: the check names the rule and shows the row
    with EmbeddedRuntime() as rt:
        rt.warehouse.load_rows(
            "cli_cloud_local",
            COST_TABLE,
            COST_TABLE_COLUMNS,
            [good_row("cli_cloud", BillingCurrency="usd")],
            replace=False,
        )
    capsys.readouterr()
    assert main(["focus", "check", "cli_cloud"]) == 1
    out = capsys.readouterr().out
    assert "1 rules violated" in out
    assert "BillingCurrency.Iso4217" in out
    assert "'usd'" in out
    assert main(["focus", "check", "cli_cloud", "--source", "gcp"]) == 0
