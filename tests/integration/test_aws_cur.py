"""AWS CUR 2.0 (Parquet and gzip CSV) -> FOCUS 1.3: checker clean, reconciled to the cent."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.aws_sample import RI_ARN, SP_ARN, sample_cur_rows, write_sample_cur
from shared.domain.models import Run
from shared.domain.states import RunStatus
from shared.handlers.focus_check import check_focus
from shared.handlers.reconciliation import reconciliation_rows
from tests.support.billing_runs import CUR_ORDER, focus_rows, run_billing
from tests.support.focus_toolkit import assert_toolkit_accepts
from tests.support.runtime import new_org

pytestmark = pytest.mark.warehouse

START, END, DAYS = date(2026, 10, 1), date(2026, 10, 2), 2


def _run(rt: EmbeddedRuntime, slug: str, uri: str, start: date = START, end: date = END) -> Run:
    return run_billing(rt, slug, "aws", {"cur_uri": uri}, start, end)


def _focus(rt: EmbeddedRuntime, slug: str) -> list[dict[str, Any]]:
    """The FOCUS rows with their org and credential (one org's runs compared)."""
    return focus_rows(
        rt, slug, CUR_ORDER, lineage=("x_run_id", "x_ingested_at", "x_ingestion_date")
    )


@pytest.mark.parametrize("name", ["cur.parquet", "cur.csv.gz"])
def test_cur_converts_clean_and_reconciles(
    runtime: EmbeddedRuntime, tmp_path: Path, name: str
) -> None:
    slug = "aws_" + name.split(".")[1]
    new_org(runtime, slug, credentials=("aws",))
    # a directory with the month's file, read in batches smaller than the file
    count = write_sample_cur(tmp_path / "cur" / name, START, DAYS)
    run = _run(runtime, slug, str(tmp_path / "cur"))
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.steps["load_cur"].rows_written == run.steps["convert_to_focus"].rows_written == count

    dataset = runtime.settings.org_dataset(slug)
    report = check_focus(runtime.warehouse, dataset, slug)
    assert report.rows_checked == count
    assert report.ok, [(r.rule_id, r.samples) for r in report.failed]
    assert_toolkit_accepts(runtime, slug, tmp_path)

    expected: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for row in sample_cur_rows(START, DAYS):
        key = (row["line_item_usage_start_date"].date(), row["line_item_currency_code"])
        expected[key] += Decimal(str(row["line_item_unblended_cost"]))
    recon = reconciliation_rows(runtime.warehouse, dataset, slug)
    assert {(r["day"], r["currency"]) for r in recon} == set(expected)
    for r in recon:
        assert r["ok"], r
        assert abs(r["focus_billed_cost"] - expected[(r["day"], r["currency"])]) < Decimal("1e-6")
    assert any(r["source_effective_cost"] != r["source_billed_cost"] for r in recon)

    rows = _focus(runtime, slug)
    usd = [
        r
        for r in rows
        if r["BillingCurrency"] == "USD" and str(r["x_pipeline_run_date"]) == "2026-10-01"
    ]
    kinds = {r["ChargeDescription"]: r for r in usd}
    covered = kinds["Linux m5.xlarge reserved instance applied"]
    assert (covered["BilledCost"], covered["EffectiveCost"]) == (0, Decimal("2.9"))
    assert (covered["CommitmentDiscountId"], covered["CommitmentDiscountStatus"]) == (
        RI_ARN,
        "Used",
    )
    assert covered["CommitmentDiscountType"] == "Reserved Instance"
    ri_fee = kinds["Linux m5.xlarge RI recurring fee"]
    assert (ri_fee["ChargeCategory"], ri_fee["ChargeFrequency"]) == ("Purchase", "Recurring")
    assert ri_fee["EffectiveCost"] == Decimal("0.15")
    sp = kinds["Compute Savings Plan covered usage"]
    assert (sp["BilledCost"], sp["EffectiveCost"], sp["CommitmentDiscountCategory"]) == (
        5,
        Decimal("3.6"),
        "Spend",
    )
    assert sp["CommitmentDiscountId"] == SP_ARN
    negation = kinds["Savings Plan negation of covered usage"]
    assert (negation["EffectiveCost"], negation["ConsumedQuantity"]) == (0, None)
    upfront = kinds["Sign up charge for RI ri-0a1b2c3d (upfront)"]
    assert (upfront["ChargeCategory"], upfront["BilledCost"], upfront["EffectiveCost"]) == (
        "Purchase",
        100,
        0,
    )
    refund = kinds["Refund for overbilled m5.large usage"]
    assert (refund["ChargeCategory"], refund["ChargeClass"]) == ("Credit", "Correction")
    assert kinds["Enterprise discount"]["ChargeCategory"] == "Credit"
    assert kinds["Tax for AmazonEC2"]["ChargeCategory"] == "Tax"
    spot = kinds["Spot g5.xlarge"]
    assert spot["PricingCategory"] == "Dynamic"
    od = kinds["$0.096 per On Demand Linux m5.large Instance Hour"]
    assert (od["ServiceName"], od["ServiceCategory"], od["SubAccountId"]) == (
        "Amazon Elastic Compute Cloud",
        "Compute",
        "111122000001",
    )
    assert od["InvoiceId"] == "INV-1111-202610"
    assert od["Tags"] == {"user_team": "web", "user_env": "prod"}
    # Commitment quantities: RI in hours, the Savings Plan in the billing currency.
    assert (covered["CommitmentDiscountQuantity"], covered["CommitmentDiscountUnit"]) == (
        24,
        "Hour",
    )
    assert (ri_fee["CommitmentDiscountQuantity"], ri_fee["CommitmentDiscountUnit"]) == (
        24,
        "Hour",
    )
    assert (sp["CommitmentDiscountQuantity"], sp["CommitmentDiscountUnit"]) == (
        Decimal("3.6"),
        "USD",
    )
    # a negation's negative rate is no unit price: no SkuPriceId, so no commitment quantity
    assert (negation["ListUnitPrice"], negation["SkuPriceId"]) == (None, None)
    assert (negation["CommitmentDiscountQuantity"], negation["CommitmentDiscountUnit"]) == (
        None,
        None,
    )
    # Contracted prices exclude commitment discounts: covered usage at the on-demand rate;
    # List/ContractedCost = unit price x PricingQuantity on every priced row.
    assert (covered["ContractedUnitPrice"], covered["ContractedCost"]) == (
        Decimal("0.192"),
        Decimal("4.608"),
    )
    assert (ri_fee["ListUnitPrice"], ri_fee["ListCost"], ri_fee["SkuPriceId"]) == (
        Decimal("0.125"),
        3,
        "RATE-M5XL-RIFEE",
    )
    for row in rows:
        if row["ListUnitPrice"] is not None and row["PricingQuantity"] is not None:
            assert row["ListCost"] == round(row["ListUnitPrice"] * row["PricingQuantity"], 9)
    sp_fee = kinds["1 year No Upfront Compute Savings Plan"]
    assert (sp_fee["CommitmentDiscountQuantity"], sp_fee["CommitmentDiscountUnit"]) == (4, "USD")
    eur_sp = next(
        r
        for r in rows
        if r["BillingCurrency"] == "EUR"
        and r["ChargeDescription"] == "Compute Savings Plan covered usage"
    )
    assert (eur_sp["CommitmentDiscountQuantity"], eur_sp["CommitmentDiscountUnit"]) == (
        Decimal("3.24"),
        "EUR",
    )
    # the upfront fee carries no term quantity; rows without a commitment none at all
    assert upfront["CommitmentDiscountQuantity"] is None
    no_commitment = [r for r in rows if r["CommitmentDiscountId"] is None]
    assert {
        (r["CommitmentDiscountQuantity"], r["CommitmentDiscountUnit"]) for r in no_commitment
    } == {(None, None)}
    assert (od["ResourceType"], covered["ResourceType"]) == ("ec2:instance", "ec2:instance")
    s3 = next(r for r in usd if r["ResourceId"] == "acme-lake-raw")
    assert s3["ResourceType"] == "s3:bucket"
    assert {r["ResourceType"] for r in rows if r["ResourceId"] is None} == {None}
    assert {r["CapacityReservationId"] for r in rows} == {None}
    market = next(r for r in usd if r["ServiceName"] == "Datadog Pro")
    assert (market["ServiceProviderName"], market["HostProviderName"]) == (
        "Datadog, Inc.",
        "AWS",
    )


def test_rerun_and_a_narrower_window_leave_the_same_rows(
    runtime: EmbeddedRuntime, tmp_path: Path
) -> None:
    slug = "aws_rerun"
    new_org(runtime, slug, credentials=("aws",))
    write_sample_cur(tmp_path / "cur.parquet", START, DAYS)
    uri = str(tmp_path / "cur.parquet")
    assert _run(runtime, slug, uri).status is RunStatus.COMPLETED
    first = _focus(runtime, slug)
    assert _run(runtime, slug, uri, END, END).status is RunStatus.COMPLETED
    assert _focus(runtime, slug) == first


def test_bad_uri_and_bad_rows_fail_clearly(runtime: EmbeddedRuntime, tmp_path: Path) -> None:
    slug = "aws_bad"
    new_org(runtime, slug, credentials=("aws",))
    missing = _run(runtime, slug, str(tmp_path / "nowhere"))
    assert missing.status is RunStatus.FAILED
    assert "no such file" in (missing.steps["load_cur"].error or "")
    other = _run(runtime, slug, "https://example.com/cur/")
    assert "unsupported scheme https://" in (other.steps["load_cur"].error or "")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "line_item_usage_start_date,line_item_line_item_type,line_item_unblended_cost,"
        "line_item_currency_code\n2026-10-01T00:00:00Z,Usage,12..5,USD\n"
    )
    failed = _run(runtime, slug, str(bad))
    assert failed.status is RunStatus.FAILED
    error = failed.steps["load_cur"].error or ""
    assert "bad.csv: line 2: line_item_unblended_cost" in error
