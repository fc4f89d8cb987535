"""OCI cost report (gzip CSV, tags/* columns) -> FOCUS 1.3, reconciled to the cent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.oci_sample import sample_report_rows, write_sample_report
from shared.domain.focus import COST_TABLE
from shared.domain.sql import table_ref
from shared.domain.states import RunStatus
from shared.handlers.dispatch import RunRequest, dispatch_run
from shared.handlers.focus_check import check_focus
from shared.handlers.reconciliation import reconciliation_rows
from tests.support.focus_toolkit import assert_toolkit_accepts
from tests.support.runtime import new_org

pytestmark = pytest.mark.warehouse

START, END = date(2026, 10, 1), date(2026, 10, 2)


def test_cost_report_converts_clean_and_reconciles(
    runtime: EmbeddedRuntime, tmp_path: Path
) -> None:
    slug = "oci_report"
    org, _ = new_org(runtime, slug, credentials=("oci",))
    count = write_sample_report(tmp_path / "reports" / "0001.csv.gz", START, 2)
    run = dispatch_run(
        runtime.services,
        org,
        RunRequest(
            slug, "oci", "cost", "billing", START, END, {"report_uri": str(tmp_path / "reports")}
        ),
    )
    assert runtime.bus.drain(120)
    final = runtime.services.store.get_run(slug, run.run_id)
    assert final is not None
    assert final.status is RunStatus.COMPLETED, final.error
    assert final.steps["convert_to_focus"].rows_written == count

    dataset = runtime.settings.org_dataset(slug)
    report = check_focus(runtime.warehouse, dataset, slug)
    assert report.ok, [(r.rule_id, r.samples) for r in report.failed]
    assert_toolkit_accepts(runtime, slug, tmp_path)
    recon = reconciliation_rows(runtime.warehouse, dataset, slug)
    assert all(r["ok"] for r in recon)
    expected = sum(
        (Decimal(str(r["cost/myCost"])) for r in sample_report_rows(START, 2)), Decimal(0)
    )
    assert sum((r["focus_billed_cost"] for r in recon), Decimal(0)) == expected

    ref = table_ref(runtime.warehouse.project_id, dataset, COST_TABLE)
    rows = runtime.warehouse.query(
        f"SELECT * FROM {ref} WHERE x_org_slug = @org ORDER BY ChargePeriodStart, SkuId",
        {"org": slug},
    )
    first = rows[0]
    assert (first["SubAccountType"], first["BillingAccountType"]) == ("Compartment", "Tenancy")
    assert first["ServiceCategory"] in {"Compute", "Storage", "Networking"}
    tagged = next(r for r in rows if r["SubAccountName"] == "prod")
    assert tagged["Tags"] == {"Oracle-Tags.CreatedBy": "ci-bot", "CostCenter.team": "web"}
    corrections = [r for r in rows if r["ChargeClass"] == "Correction"]
    assert [c["BilledCost"] for c in corrections] == [Decimal("-0.1")]
    storage = next(r for r in rows if r["ServiceName"] == "BLOCK_STORAGE")
    assert (storage["ServiceCategory"], storage["ServiceSubcategory"]) == (
        "Storage",
        "Block Storage",
    )
    assert storage["PricingQuantity"] == Decimal("0.6849")
    # ResourceType: the OCID's type segment
    assert storage["ResourceType"] == "volume"
    assert {
        r["ResourceType"] for r in rows if r["ServiceName"] == "COMPUTE" and r["ResourceId"]
    } == {"instance"}
    assert all(r["ResourceType"] for r in rows if r["ResourceId"] is not None)
    assert {r["ResourceType"] for r in rows if r["ResourceId"] is None} == {None}
