"""Gemini via the GCP billing export -> GenAI raw tables -> FOCUS 1.3, to the cent."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.gemini_sample import (
    GEMINI_SERVICES,
    load_sample_gemini_export,
    sample_gemini_export_rows,
)
from shared.domain.focus import COST_TABLE
from shared.domain.genai import COSTS_RAW_TABLE, USAGE_RAW_TABLE
from shared.domain.models import Run
from shared.domain.states import RunStatus
from shared.handlers.credentials import set_credential
from tests.support.runtime import new_org, org_table, run_to_end

pytestmark = pytest.mark.warehouse

START, DAYS = date(2026, 10, 1), 2
END = date(2026, 10, 2)
TABLE = "gcp_billing_export_resource_v1_01A2B3"
CENT = Decimal("0.01")


def _is_gemini(row: dict[str, Any]) -> bool:
    return row["service"]["description"] in GEMINI_SERVICES and bool(
        re.search(r"\bgemini\b", row["sku"]["description"].lower())
    )


def _expected() -> dict[tuple[date, str], Decimal]:
    """Gemini cost + credits per usage day and currency, from the sample rows."""
    totals: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for row in sample_gemini_export_rows(START, DAYS):
        if _is_gemini(row):
            net = Decimal(str(row["cost"])) + sum(
                (Decimal(str(c["amount"])) for c in row["credits"]), Decimal(0)
            )
            totals[(date.fromisoformat(row["usage_start_time"][:10]), row["currency"])] += net
    return {k: v.quantize(CENT) for k, v in totals.items()}


def _run(rt: EmbeddedRuntime, slug: str, params: dict[str, str]) -> Run:
    return run_to_end(rt, slug, "genai/payg/gemini", START, END, params)


def _query(rt: EmbeddedRuntime, slug: str, table: str, select: str) -> list[dict[str, Any]]:
    ref = org_table(rt, slug, table)
    return rt.warehouse.query(f"SELECT {select} FROM {ref} WHERE x_org_slug = @org", {"org": slug})


@pytest.mark.parametrize("schema", ["detailed", "standard"])
def test_gemini_skus_reach_focus_to_the_cent_and_rerun_cleanly(
    runtime: EmbeddedRuntime, schema: str
) -> None:
    slug = f"genai_gemini_{schema}"
    new_org(runtime, slug)
    set_credential(runtime.services, slug, "gemini", "gemini-lineage-only")
    source_dataset = f"{slug}_billing_src"
    load_sample_gemini_export(runtime.warehouse, source_dataset, TABLE, START, DAYS, schema=schema)
    params = {
        "source_project": runtime.warehouse.project_id,
        "source_dataset": source_dataset,
        "source_table": TABLE,
        "export_schema": schema,
    }

    focus_cols = (
        "ChargePeriodStart, BillingCurrency, BilledCost, EffectiveCost, ConsumedQuantity,"
        " ConsumedUnit, PricingQuantity, SubAccountId, SkuId, ServiceName, ServiceProviderName,"
        " HostProviderName, ServiceCategory, ServiceSubcategory, x_genai_provider,"
        " x_genai_model, x_genai_token_type"
    )
    snapshots = []
    for _ in range(2):  # the second run replaces the same slice: no duplicates
        run = _run(runtime, slug, params)
        assert run.status is RunStatus.COMPLETED, run.error
        rows = _query(runtime, slug, COST_TABLE, focus_cols)
        snapshots.append(
            sorted(
                rows,
                key=lambda r: (
                    str(r["ChargePeriodStart"]),
                    r["SkuId"],
                    str(r["SubAccountId"]),
                    r["BillingCurrency"],
                ),
            )
        )
    assert snapshots[0] == snapshots[1]
    rows = snapshots[1]

    # FOCUS totals equal the source's Gemini cost + credits per day and currency, to the cent
    got: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        got[(r["ChargePeriodStart"].date(), r["BillingCurrency"])] += r["BilledCost"]
        assert r["EffectiveCost"] == r["BilledCost"]
    assert {k: v.quantize(CENT) for k, v in got.items()} == _expected()

    # only Gemini SKUs: no Compute/Storage/BigQuery/Marketplace rows, no Vertex prediction node
    assert {r["x_genai_provider"] for r in rows} == {"gemini"}
    models = {r["x_genai_model"] for r in rows}
    assert models == {
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.0-flash",
        "gemini-2.5-flash-lite",
    }
    assert {r["x_genai_token_type"] for r in rows} == {
        "input",
        "output",
        "cached_input",
        "cache_storage",
        "grounding_with_google_search",
    }
    line_items = {r["line_item"] for r in _query(runtime, slug, COSTS_RAW_TABLE, "line_item")}
    assert not any("Prediction" in li or "N2" in li for li in line_items)
    assert all(
        r["ServiceProviderName"] == r["HostProviderName"] == "Google Cloud"
        and r["ServiceName"] == "Gemini"
        and r["ServiceCategory"] == "AI and Machine Learning"
        and r["ServiceSubcategory"] == "Generative AI"
        for r in rows
    )

    # quantities: tokens per day, project, model and token type, in 1M-token pricing units
    [pro_out] = [
        r
        for r in rows
        if r["ChargePeriodStart"].date() == START
        and r["SubAccountId"] == "web-prod-4711"
        and r["x_genai_model"] == "gemini-2.5-pro"
        and r["x_genai_token_type"] == "output"
    ]
    assert pro_out["ConsumedQuantity"] == 800_000
    assert pro_out["ConsumedUnit"] == "Tokens"
    assert pro_out["PricingQuantity"] == Decimal("0.8")
    assert pro_out["BilledCost"] == Decimal("6")  # 0.8M x $10, minus the 25% trial credit

    # meters that are not tokens keep the export's units and pricing units
    [storage] = [
        r
        for r in rows
        if r["ChargePeriodStart"].date() == START and r["x_genai_token_type"] == "cache_storage"
    ]
    assert (storage["ConsumedQuantity"], storage["ConsumedUnit"]) == (2_000_000, "token-hour")
    assert (storage["PricingQuantity"], storage["BilledCost"]) == (Decimal(2), Decimal(2))

    usage = _query(runtime, slug, USAGE_RAW_TABLE, "provider, endpoint, unit")
    assert {u["provider"] for u in usage} == {"gemini"}
    assert {u["unit"] for u in usage} == {"Tokens", "token-hour", "count"}
    assert {u["endpoint"] for u in usage} == {"Generative Language API", "Vertex AI"}
