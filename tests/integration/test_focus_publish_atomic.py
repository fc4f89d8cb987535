"""A cloud conversion that does not reconcile leaves the org's FOCUS table as it was.

cloud.focus_convert replaces the org's slice with the converted rows and reconciles them with
the source in one transaction; on a mismatch the transaction rolls back (rows and totals) and
the step fails naming both figures.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.config import service_map
from shared.domain.focus import COST_TABLE
from shared.domain.sql import table_ref
from shared.domain.states import RunStatus
from shared.handlers.reconciliation import reconciliation_rows
from shared.processors import cloud_focus
from tests.integration.test_gcp_billing import END, START, _run, _setup

pytestmark = pytest.mark.warehouse


def _table(rt: EmbeddedRuntime, slug: str, table: str) -> list[dict[str, Any]]:
    ref = table_ref(rt.warehouse.project_id, rt.settings.org_dataset(slug), table)
    # every column, lineage included: an untouched table has the same run ids and times
    return rt.warehouse.query(
        f"SELECT * FROM {ref} ORDER BY x_pipeline_run_date, ChargePeriodStart, BillingCurrency,"
        " SkuId, SubAccountId, ResourceId, ChargeCategory, BilledCost"
    )


def test_a_conversion_that_does_not_reconcile_changes_nothing(
    runtime: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = "gcp_atomic"
    params = _setup(runtime, slug)
    first = _run(runtime, slug, params, START, END)
    assert first.status is RunStatus.COMPLETED, first.error
    before = _table(runtime, slug, COST_TABLE)
    assert before

    real = service_map.load_service_mappings

    def doubled() -> list[dict[str, Any]]:  # a duplicated mapping row doubles a service's rows
        rows = real()
        return rows + [r for r in rows if r["service_key"] == "Cloud Storage"]

    monkeypatch.setattr(cloud_focus, "load_service_mappings", doubled)
    rerun = _run(runtime, slug, params, START, START)
    assert rerun.status is RunStatus.FAILED
    error = rerun.steps["convert_to_focus"].error or ""
    assert "do not reconcile" in error
    # both figures of the failing day: the source's and the (doubled) FOCUS one
    figures = re.search(r"2026-10-01 USD: BilledCost source (-?[\d.]+) vs FOCUS (-?[\d.]+)", error)
    assert figures, error
    assert Decimal(figures[2]) > Decimal(figures[1])

    assert _table(runtime, slug, COST_TABLE) == before
    # the totals roll back with the rows: the table keeps the first run's, which match
    kept = reconciliation_rows(
        runtime.warehouse, runtime.settings.org_dataset(slug), slug, start=START, end=END
    )
    assert kept
    assert all(r["ok"] for r in kept)
    assert {r["run_id"] for r in kept} == {first.run_id}
