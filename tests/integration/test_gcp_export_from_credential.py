"""gcp/cost/billing takes its export table from the org's credential; run parameters still
override it (backfills over another table)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.gcp_sample import load_sample_export
from shared.domain.credentials import validate_metadata
from shared.domain.errors import BadRequest
from shared.domain.states import RunStatus
from shared.entrypoints.cli.main import main
from shared.handlers.credentials import list_credentials, set_credential
from tests.integration.test_gcp_billing import START, TABLE, _run
from tests.support.runtime import REPO, new_org


def _extract_only() -> dict[str, Any]:
    """The real pipeline without its FOCUS step: only the extract reads the credential, and
    test_gcp_billing covers the conversion."""
    pipeline: dict[str, Any] = yaml.safe_load(
        (REPO / "configs/cloud/gcp/cost/billing.yml").read_text()
    )
    pipeline["steps"] = [s for s in pipeline["steps"] if s["ps_type"] == "gcp.bq_etl"]
    return pipeline


pytestmark = [pytest.mark.warehouse, pytest.mark.pipelines({"gcp/cost/billing": _extract_only()})]


def test_the_credential_names_the_export_and_parameters_override_it(
    runtime: EmbeddedRuntime,
) -> None:
    slug = "gcp_credtable"
    new_org(runtime, slug)
    project = runtime.warehouse.project_id
    load_sample_export(runtime.warehouse, f"{slug}_src", TABLE, START, 1)
    load_sample_export(runtime.warehouse, f"{slug}_backfill", "older_export", START, 1)
    table = f"{project}.{slug}_src.{TABLE}"
    info = set_credential(
        runtime.services, slug, "gcp", "test-gcp-credential", billing_export_table=f"`{table}`"
    )
    assert info.metadata == {"billing_export_table": table}
    assert list_credentials(runtime.services, slug)[0].metadata["billing_export_table"] == table

    run = _run(runtime, slug, {}, START, START)
    assert run.status is RunStatus.COMPLETED, run.error
    step = run.steps["extract_billing_export"]
    assert step.metrics["source_table"] == table
    assert step.rows_written > 0

    # a backfill names another dataset and table; the project still comes from the credential
    params = {"source_dataset": f"{slug}_backfill", "source_table": "older_export"}
    backfill = _run(runtime, slug, params, START, START)
    assert backfill.status is RunStatus.COMPLETED, backfill.error
    moved = backfill.steps["extract_billing_export"]
    assert moved.metrics["source_table"] == f"{project}.{slug}_backfill.older_export"
    assert moved.rows_written == step.rows_written  # the same sample day, the same rows


@pytest.mark.parametrize(
    "value",
    ["proj.dataset", "proj.data-set.table", "Proj.ds.t", "p.ds.t", "proj.ds.t;DROP", "a.b.c.d"],
)
def test_a_bad_export_table_is_refused_when_stored(value: str) -> None:
    with pytest.raises(BadRequest, match=r"project\.dataset\.table") as info:
        validate_metadata({"billing_export_table": value})
    assert info.value.details.get("field") == "billing_export_table"


def test_cli_stores_the_export_table(
    runtime: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    new_org(runtime, "gcp_cli_table")
    monkeypatch.setenv("PIPELINES_HOME", str(runtime.settings.home))
    monkeypatch.setenv("GCP_KEY", "test-gcp-credential")
    code = main(
        [
            "credentials", "set", "gcp_cli_table", "gcp", "--api-key-env", "GCP_KEY",
            "--billing-export-table", "billing-prj.exports.gcp_billing_export_v1_0A1",
        ]
    )  # fmt: skip
    assert code == 0
    stored = runtime.services.credentials.get("gcp_cli_table", "gcp")
    assert stored is not None
    assert stored.info.metadata["billing_export_table"] == (
        "billing-prj.exports.gcp_billing_export_v1_0A1"
    )
    assert main(["credentials", "list", "gcp_cli_table"]) == 0
    out = capsys.readouterr().out
    assert "billing export billing-prj.exports.gcp_billing_export_v1_0A1" in out
    assert "billing_export_table" in out  # the list's column
    assert out.count("billing-prj.exports.gcp_billing_export_v1_0A1") == 2
    assert "test-gcp-credential" not in out
