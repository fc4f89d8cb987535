"""GCP billing export -> FOCUS 1.3 end to end: checker clean, reconciled to the cent."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.config import service_map
from shared.demo.gcp_sample import load_sample_export, sample_gcp_export_rows
from shared.domain.cloud_billing import EXPORT_SCHEMAS, GCP_RAW_COLUMNS, GCP_RAW_TABLE
from shared.domain.columns import Column
from shared.domain.focus import COST_TABLE
from shared.domain.models import Run
from shared.domain.states import RunStatus
from shared.handlers.focus_check import check_focus
from shared.handlers.reconciliation import reconciliation_rows
from shared.processors import cloud_focus
from tests.support.focus_toolkit import assert_toolkit_accepts
from tests.support.runtime import new_org, org_table, run_to_end

pytestmark = pytest.mark.warehouse

START, DAYS = date(2026, 10, 1), 3
END = date(2026, 10, 3)
TABLE = "gcp_billing_export_resource_v1_01A2B3"


def _setup(rt: EmbeddedRuntime, slug: str, schema: str = "detailed") -> dict[str, str]:
    new_org(rt, slug, credentials=("gcp",))
    source_dataset = f"{slug}_billing_src"
    load_sample_export(rt.warehouse, source_dataset, TABLE, START, DAYS, schema=schema)
    return {
        "source_project": rt.warehouse.project_id,
        "source_dataset": source_dataset,
        "source_table": TABLE,
        "export_schema": schema,
    }


def _run(rt: EmbeddedRuntime, slug: str, params: dict[str, str], start: date, end: date) -> Run:
    return run_to_end(rt, slug, "gcp/cost/billing", start, end, params)


def _focus(rt: EmbeddedRuntime, slug: str, where: str = "TRUE") -> list[dict[str, Any]]:
    return rt.warehouse.query(
        "SELECT * EXCEPT (x_run_id, x_ingested_at, x_ingestion_date)"
        f" FROM {org_table(rt, slug, COST_TABLE)}"
        f" WHERE {where} ORDER BY ChargePeriodStart, BillingCurrency, SkuId, SubAccountId,"
        " ResourceId, ChargeCategory, BilledCost"
    )


def _expected_totals() -> dict[tuple[date, str], Decimal]:
    """cost + credits per usage day and currency, computed here from the sample rows."""
    totals: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for row in sample_gcp_export_rows(START, DAYS):
        net = Decimal(str(row["cost"])) + sum(
            (Decimal(str(c["amount"])) for c in row["credits"]), Decimal(0)
        )
        totals[(date.fromisoformat(row["usage_start_time"][:10]), row["currency"])] += net
    return totals


def test_detailed_export_converts_clean_and_reconciles_to_the_cent(
    runtime: EmbeddedRuntime, tmp_path: Path
) -> None:
    slug = "gcp_detail"
    params = _setup(runtime, slug)
    run = _run(runtime, slug, params, START, END)
    assert run.status is RunStatus.COMPLETED, run.error
    extract, convert = run.steps["extract_billing_export"], run.steps["convert_to_focus"]
    source_rows = sum(1 for _ in sample_gcp_export_rows(START, DAYS))
    assert extract.rows_written == convert.rows_written == source_rows

    dataset = runtime.settings.org_dataset(slug)
    report = check_focus(runtime.warehouse, dataset, slug)
    assert report.rows_checked == source_rows
    assert report.ok, [(r.rule_id, r.samples) for r in report.failed]
    assert_toolkit_accepts(runtime, slug, tmp_path)

    # reconciliation: in the step metrics, in the table, and against our own sums
    recon = reconciliation_rows(runtime.warehouse, dataset, slug)
    assert {(r["day"], r["currency"]) for r in recon} == set(_expected_totals())
    assert all(r["ok"] for r in recon)
    for r in recon:
        expected = _expected_totals()[(r["day"], r["currency"])]
        assert abs(r["focus_billed_cost"] - expected) <= Decimal("0.000001")
        assert abs(r["focus_effective_cost"] - expected) <= Decimal("0.000001")
    assert len(convert.metrics["reconciliation"]) == len(recon)

    rows = _focus(runtime, slug)
    by_sku: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_sku[row["SkuId"]].append(row)
    # a tax is not bought at a SKU's price: the export's TAX sku leaves SkuId null
    assert "TAX" not in by_sku
    [tax_usd] = [r for r in rows if r["ChargeCategory"] == "Tax" and r["BillingCurrency"] == "USD"]
    assert (tax_usd["SkuId"], tax_usd["SkuPriceId"], tax_usd["PricingCategory"]) == (None,) * 3
    assert tax_usd["ConsumedQuantity"] is None
    assert tax_usd["ServiceCategory"] == "Other"
    assert {r["ChargeCategory"] for r in by_sku["ROUNDING"]} == {"Adjustment"}
    correction = by_sku["CP-N2-CORE"]
    assert {(r["ChargeCategory"], r["ChargeClass"]) for r in correction} == {
        ("Usage", None),
        ("Adjustment", "Correction"),
    }
    assert {(r["ChargeCategory"], r["ChargeFrequency"]) for r in by_sku["GOODWILL"]} == {
        ("Credit", "One-Time")
    }
    fee = by_sku["CUD-N2-CORE"][0]
    assert (fee["ChargeCategory"], fee["ChargeFrequency"], fee["PricingCategory"]) == (
        "Purchase",
        "Recurring",
        "Committed",
    )
    assert fee["CommitmentDiscountId"] == "cud-n2-us-central1-7f3a"
    assert fee["CommitmentDiscountStatus"] is None
    vm = next(
        r for r in correction if r["ChargeCategory"] == "Usage" and r["BillingCurrency"] == "USD"
    )
    assert vm["CommitmentDiscountId"] == fee["CommitmentDiscountId"]
    assert (vm["CommitmentDiscountStatus"], vm["CommitmentDiscountCategory"]) == ("Used", "Usage")
    assert vm["BilledCost"] < vm["ContractedCost"] < vm["ListCost"]  # credits, then list price
    assert (vm["ServiceCategory"], vm["ServiceSubcategory"]) == ("Compute", "Virtual Machines")
    assert vm["SubAccountId"] == "web-prod-4711"
    assert vm["SubAccountType"] == "Project"
    assert vm["BillingAccountId"] == "01A2B3-C4D5E6-F7A8B9"
    assert vm["ResourceId"].startswith("//compute.googleapis.com/projects/web-prod-4711/")
    assert vm["ResourceType"] == "compute.googleapis.com/instances"
    assert {r["ResourceType"] for r in rows if r["ResourceId"] is None} == {None}
    assert all(r["ResourceType"] for r in rows if r["ResourceId"] is not None)
    assert {r["CommitmentDiscountQuantity"] for r in rows} == {None}
    tags = vm["Tags"] if isinstance(vm["Tags"], dict) else json.loads(vm["Tags"])
    assert tags == {
        "app": "storefront",
        "env": "prod",  # the resource label wins over the project label env=prod
        "goog-resource-type": "instance",
        "team": "web",
        "acme/cost-center": "cc-42",
    }
    assert vm["ChargePeriodEnd"] > vm["ChargePeriodStart"]
    assert str(vm["BillingPeriodStart"])[:10] == "2026-10-01"
    assert str(vm["BillingPeriodEnd"])[:10] == "2026-11-01"
    assert {r["PricingCategory"] for r in by_sku["CP-SPOT-GPU"]} == {"Dynamic"}
    market = by_sku["ELASTIC-STD"][0]
    assert (market["ServiceProviderName"], market["HostProviderName"]) == (
        "Elasticsearch B.V.",
        "Google Cloud",
    )
    assert market["InvoiceIssuerName"] == "Google"
    eur = next(r for r in by_sku["BQ-ANALYSIS"] if r["BillingCurrency"] == "EUR")
    assert eur["PricingCurrency"] == "USD"
    assert eur["BilledCost"] == 0  # the promotion covers BigQuery analysis in full
    assert {r["ServiceProviderName"] for r in rows} == {"Google Cloud", "Elasticsearch B.V."}
    assert {
        r["ServiceName"] for r in rows if r["ServiceCategory"] == "AI and Machine Learning"
    } == {"Vertex AI"}


def test_incremental_days_late_rows_and_identical_reruns(runtime: EmbeddedRuntime) -> None:
    slug = "gcp_incr"
    params = _setup(runtime, slug)
    assert _run(runtime, slug, params, START, END).status is RunStatus.COMPLETED
    full = _focus(runtime, slug)
    # the last day again: the tax, rounding and correction rows for Oct 1 and the daily rows
    # of Oct 2 were exported on Oct 3, so those days are reopened and replaced, not duplicated
    late = _run(runtime, slug, params, END, END)
    assert late.status is RunStatus.COMPLETED, late.error
    assert late.steps["extract_billing_export"].metrics["late_days_reopened"] == [
        "2026-10-01",
        "2026-10-02",
    ]
    assert _focus(runtime, slug) == full


def test_a_raw_table_of_an_earlier_release_takes_the_row_ids(runtime: EmbeddedRuntime) -> None:
    """Raw tables created before x_export_row_id keyed their rows by x_export_row (INT64): the
    column is added, the old one stays null, and the rows convert as on a new table."""
    slug = "gcp_old_raw"
    params = _setup(runtime, slug)
    earlier = tuple(
        Column("x_export_row", "INT64") if c.name == "x_export_row_id" else c
        for c in GCP_RAW_COLUMNS
    )
    runtime.warehouse.ensure_dataset(runtime.settings.org_dataset(slug))
    runtime.warehouse.ensure_table(runtime.settings.org_dataset(slug), GCP_RAW_TABLE, earlier)
    run = _run(runtime, slug, params, START, END)
    assert run.status is RunStatus.COMPLETED, run.error
    [keys] = runtime.warehouse.query(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT x_export_row_id) AS ids, COUNT(x_export_row) AS old"
        f" FROM {org_table(runtime, slug, GCP_RAW_TABLE)}"
    )
    exported = sum(1 for _ in sample_gcp_export_rows(START, DAYS))
    assert keys == {"n": exported, "ids": exported, "old": 0}
    assert len(_focus(runtime, slug)) == keys["n"]


def test_standard_export_schema(runtime: EmbeddedRuntime, tmp_path: Path) -> None:
    slug = "gcp_std"
    params = _setup(runtime, slug, schema="standard")
    run = _run(runtime, slug, params, START, START)
    assert run.status is RunStatus.COMPLETED, run.error
    rows = _focus(runtime, slug)
    assert rows
    assert {r["ResourceId"] for r in rows} == {None}  # resource-level data is detailed-only
    assert {r["SkuPriceDetails"] for r in rows} == {None}
    report = check_focus(runtime.warehouse, runtime.settings.org_dataset(slug), slug)
    assert report.ok, [(r.rule_id, r.samples) for r in report.failed]
    assert_toolkit_accepts(runtime, slug, tmp_path)


def test_a_mapping_bug_fails_reconciliation_with_both_figures(
    runtime: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = "gcp_recon"
    params = _setup(runtime, slug)
    real = service_map.load_service_mappings

    def doubled() -> list[dict[str, Any]]:  # a duplicated mapping row doubles a service
        rows = real()
        return rows + [r for r in rows if r["service_key"] == "Cloud Storage"]

    monkeypatch.setattr(cloud_focus, "load_service_mappings", doubled)
    run = _run(runtime, slug, params, START, START)
    assert run.status is RunStatus.FAILED
    step = run.steps["convert_to_focus"]
    assert step.attempt == 1  # not retried: rerunning cannot fix it
    assert "do not reconcile" in (step.error or "")
    assert "2026-10-01 USD: BilledCost source" in (step.error or "")
    assert "EffectiveCost source" in (step.error or "")
    assert "reason:" not in (step.error or "")  # the warehouse's own wrapping is cut off
    # the transaction rolled back: no FOCUS rows and no totals of the failed conversion
    dataset = runtime.settings.org_dataset(slug)
    assert reconciliation_rows(runtime.warehouse, dataset, slug) == []
    focus = org_table(runtime, slug, COST_TABLE)
    assert runtime.warehouse.query(f"SELECT COUNT(*) AS n FROM {focus}") == [{"n": 0}]


def test_missing_source_table_is_a_clear_config_error(runtime: EmbeddedRuntime) -> None:
    slug = "gcp_nosrc"
    new_org(runtime, slug, credentials=("gcp",))
    run = _run(runtime, slug, {}, START, START)
    assert run.status is RunStatus.FAILED
    assert "source_table" in (run.steps["extract_billing_export"].error or "")


def test_storage_quantities_past_int64_convert_exactly(runtime: EmbeddedRuntime) -> None:
    """Byte-seconds of a few hundred TiB pass INT64 (2**63 ~ 9.2e18): a day of ~300 TiB
    in BigQuery storage is 2.8e19. The conversion keeps every digit a NUMERIC holds."""
    slug = "gcp_huge"
    params = _setup(runtime, slug)
    [storage] = [
        r
        for r in sample_gcp_export_rows(START, 1)
        if r["sku"]["id"] == "GCS-STD" and r["currency"] == "USD"
    ]
    huge = {"2.8e19": Decimal("28000000000000000000"), "1e20": Decimal(10**20)}
    extra = []
    for i, amount in enumerate(huge):
        row = json.loads(json.dumps(storage, default=str))
        row["sku"] = {"id": f"BQ-STORAGE-{i}", "description": "Active Logical Storage"}
        row["usage"] = {**row["usage"], "amount": float(amount)}
        row["credits"] = []
        extra.append(row)
    columns = [c for c in EXPORT_SCHEMAS["detailed"] if c.name in extra[0]]
    runtime.warehouse.load_rows(params["source_dataset"], TABLE, columns, extra)

    run = _run(runtime, slug, params, START, START)
    assert run.status is RunStatus.COMPLETED, run.error
    rows = _focus(runtime, slug, "STARTS_WITH(SkuId, 'BQ-STORAGE-')")
    assert sorted(r["ConsumedQuantity"] for r in rows) == sorted(huge.values())
