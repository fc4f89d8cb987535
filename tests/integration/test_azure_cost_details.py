"""Azure amortized cost details (MCA and EA column names) -> FOCUS 1.3, reconciled."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.azure_sample import FX, RESERVATION, SAVINGS_PLAN, write_sample_export
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


def _convert(rt: EmbeddedRuntime, slug: str, uri: Path) -> list[dict[str, Any]]:
    org, _ = new_org(rt, slug, credentials=("azure",))
    run = dispatch_run(
        rt.services,
        org,
        RunRequest(slug, "azure", "cost", "billing", START, END, {"export_uri": str(uri)}),
    )
    assert rt.bus.drain(120)
    final = rt.services.store.get_run(slug, run.run_id)
    assert final is not None
    assert final.status is RunStatus.COMPLETED, final.error
    ref = table_ref(rt.warehouse.project_id, rt.settings.org_dataset(slug), COST_TABLE)
    return rt.warehouse.query(
        "SELECT * EXCEPT (x_run_id, x_ingested_at, x_ingestion_date, x_org_slug, x_credential_id)"
        f" FROM {ref}"
        " ORDER BY ChargePeriodStart, ChargeDescription, BilledCost, EffectiveCost, ResourceId"
    )


def test_mca_and_ea_exports_convert_alike_clean_and_reconciled(
    runtime: EmbeddedRuntime, tmp_path: Path
) -> None:
    count = write_sample_export(tmp_path / "mca" / "part0.csv.gz", START, 2, flavour="mca")
    write_sample_export(tmp_path / "ea.csv", START, 2, flavour="ea")
    mca = _convert(runtime, "az_mca", tmp_path / "mca")
    ea = _convert(runtime, "az_ea", tmp_path / "ea.csv")
    assert len(mca) == count
    assert mca == ea  # the EA names map onto the same FOCUS rows

    for slug in ("az_mca", "az_ea"):
        dataset = runtime.settings.org_dataset(slug)
        report = check_focus(runtime.warehouse, dataset, slug)
        assert report.ok, [(r.rule_id, r.samples) for r in report.failed]
        assert_toolkit_accepts(runtime, slug, tmp_path)
        recon = reconciliation_rows(runtime.warehouse, dataset, slug)
        assert [(str(r["day"]), r["currency"]) for r in recon] == [
            ("2026-10-01", "EUR"),
            ("2026-10-02", "EUR"),
        ]
        assert all(r["ok"] for r in recon)

    by = {
        (r["ChargeDescription"], r["ResourceName"], r["ChargeClass"]): r
        for r in mca
        if str(r["x_pipeline_run_date"]) == "2026-10-01"
    }
    covered = by[("Virtual Machines: D4s v5", "etl-1", None)]
    assert covered["BilledCost"] == 0
    assert covered["EffectiveCost"] == Decimal(str(round(2.95 * FX, 8)))
    assert (covered["CommitmentDiscountId"], covered["CommitmentDiscountStatus"]) == (
        RESERVATION,
        "Used",
    )
    assert (covered["CommitmentDiscountCategory"], covered["PricingCategory"]) == (
        "Usage",
        "Committed",
    )
    unused = by[("Virtual Machines: D4s v5", None, None)]
    assert (unused["ChargeCategory"], unused["CommitmentDiscountStatus"]) == ("Usage", "Unused")
    assert unused["ConsumedQuantity"] is None
    sp = by[("Azure App Service: P1 v3", "plan-1", None)]
    assert (sp["CommitmentDiscountId"], sp["CommitmentDiscountCategory"]) == (SAVINGS_PLAN, "Spend")
    purchase = by[("Virtual Machines: Reservation", None, None)]
    assert (purchase["ChargeCategory"], purchase["ChargeFrequency"]) == ("Purchase", "One-Time")
    assert (purchase["BilledCost"], purchase["EffectiveCost"]) == (Decimal("276"), 0)
    refund = by[("Virtual Machines: Reservation", None, "Correction")]
    assert (refund["ChargeCategory"], refund["BilledCost"]) == ("Purchase", Decimal("-23"))
    od = by[("Virtual Machines: D4s v5", "web-1", None)]
    assert (od["BillingAccountId"], od["BillingAccountType"]) == ("bp-eu-01", "Billing Profile")
    assert (od["SubAccountName"], od["ServiceCategory"]) == ("prod-weu", "Compute")
    assert (od["PricingCurrency"], od["BillingCurrency"]) == ("USD", "EUR")
    assert od["ListUnitPrice"] == Decimal("0.17664")  # 0.192 USD x 0.92
    assert od["Tags"] == {"team": "web", "env": "prod"}
    assert str(od["BillingPeriodEnd"])[:10] == "2026-11-01"  # exclusive
    market = next(r for r in mca if r["ServiceName"] == "SaaS")
    assert (market["ServiceProviderName"], market["HostProviderName"]) == ("Elastic", "Microsoft")
    spot = by[("Virtual Machines: D8s v5 Spot", "spot-1", None)]
    assert spot["PricingCategory"] == "Dynamic"
    # ResourceType: the ARM type in the ResourceId; null where there is no ResourceId
    assert (od["ResourceType"], sp["ResourceType"]) == (
        "Microsoft.Compute/virtualMachines",
        "Microsoft.Web/serverfarms",
    )
    assert {r["ResourceType"] for r in mca if r["ResourceId"] is None} == {None}
    assert all(r["ResourceType"] for r in mca if r["ResourceId"] is not None)
    assert {r["CommitmentDiscountQuantity"] for r in mca} == {None}
