"""The real subscription pipeline, end to end through dispatcher -> runner -> coordinator."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.subscriptions import sample_subscription_plans
from shared.domain.focus import COST_TABLE, LINEAGE_COLUMN_NAMES
from shared.domain.models import Org, Run
from shared.domain.saas_subscriptions import DAILY_COSTS_TABLE, PLANS_COLUMNS, PLANS_TABLE
from shared.domain.sql import table_ref
from shared.domain.states import RunStatus, StepStatus
from tests.support.runtime import RuntimeFactory, new_org, org_table, run_to_end

pytestmark = pytest.mark.warehouse

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


@pytest.fixture
def chaos_runtime(runtime_factory: RuntimeFactory) -> EmbeddedRuntime:
    return runtime_factory(chaos=True)


def _seed(rt: EmbeddedRuntime, slug: str) -> Org:
    org, _ = new_org(rt, slug)
    dataset = rt.settings.org_dataset(slug)
    rt.warehouse.load_rows(
        dataset, PLANS_TABLE, PLANS_COLUMNS, sample_subscription_plans(slug, OCTOBER[0])
    )
    return org


def _run(rt: EmbeddedRuntime, org: Org, start: date, end: date) -> Run:
    return run_to_end(rt, org.org_slug, "subscription/costs/subscription_cost", start, end)


def _focus_rows(rt: EmbeddedRuntime, slug: str) -> list[tuple[Any, ...]]:
    """Every FOCUS row's content, minus the per-run lineage (run id and write time)."""
    ref = org_table(rt, slug, COST_TABLE)
    rows = rt.warehouse.query(
        f"SELECT ResourceId, ChargePeriodStart, BilledCost, EffectiveCost, ListCost,"
        f" BillingCurrency, ServiceName, x_org_slug, x_pipeline_id, x_credential_id,"
        f" x_pipeline_run_date, x_source_system FROM {ref}"
        f" ORDER BY ResourceId, ChargePeriodStart"
    )
    return [tuple(r.values()) for r in rows]


def test_a_month_runs_to_focus_with_lineage(runtime: EmbeddedRuntime) -> None:
    org = _seed(runtime, "pipe_month")
    run = _run(runtime, org, *OCTOBER)
    assert run.status is RunStatus.COMPLETED, run.error
    steps = run.steps
    assert [s.status for s in steps.values()] == [StepStatus.SUCCEEDED] * 2
    daily, focus = steps["calculate_daily_costs"], steps["convert_to_focus"]
    assert daily.rows_written == focus.rows_written > 300

    dataset = runtime.settings.org_dataset("pipe_month")
    project = runtime.warehouse.project_id
    [totals] = runtime.warehouse.query(
        f"SELECT (SELECT SUM(daily_cost) FROM {table_ref(project, dataset, DAILY_COSTS_TABLE)})"
        f" AS daily, (SELECT SUM(BilledCost) FROM {table_ref(project, dataset, COST_TABLE)})"
        " AS billed"
    )
    assert totals["daily"] == totals["billed"]
    nulls = runtime.warehouse.query(
        f"SELECT COUNT(*) AS n FROM {table_ref(project, dataset, COST_TABLE)} WHERE "
        + " OR ".join(f"{c} IS NULL" for c in LINEAGE_COLUMN_NAMES)
    )
    assert nulls == [{"n": 0}]
    [lineage] = runtime.warehouse.query(
        f"SELECT DISTINCT x_pipeline_id, x_credential_id, x_run_id, x_source_system"
        f" FROM {table_ref(project, dataset, COST_TABLE)}"
    )
    assert lineage == {
        "x_pipeline_id": "subscription_cost",
        "x_credential_id": "internal",
        "x_run_id": run.run_id,
        "x_source_system": "subscription",
    }
    transitions = runtime.services.store.list_transitions("pipe_month", run.run_id)
    assert [t.to_status for t in transitions if t.step_id is None] == [
        "pending",
        "validating",
        "running",
        "processing",  # its procedure steps transform
        "completed",
    ]


def test_rerunning_the_same_dates_gives_identical_rows(runtime: EmbeddedRuntime) -> None:
    org = _seed(runtime, "pipe_rerun")
    assert _run(runtime, org, *OCTOBER).status is RunStatus.COMPLETED
    first = _focus_rows(runtime, "pipe_rerun")
    assert _run(runtime, org, *OCTOBER).status is RunStatus.COMPLETED
    assert _focus_rows(runtime, "pipe_rerun") == first
    # a narrower rerun replaces only its own days
    assert _run(runtime, org, date(2026, 10, 5), date(2026, 10, 6)).status is RunStatus.COMPLETED
    assert _focus_rows(runtime, "pipe_rerun") == first


def test_duplicate_and_shuffled_delivery_gives_the_same_result(
    runtime: EmbeddedRuntime, chaos_runtime: EmbeddedRuntime
) -> None:
    clean = _seed(runtime, "pipe_clean")
    assert _run(runtime, clean, *OCTOBER).status is RunStatus.COMPLETED
    chaotic = _seed(chaos_runtime, "pipe_chaos")
    run = _run(chaos_runtime, chaotic, *OCTOBER)
    assert run.status is RunStatus.COMPLETED
    assert all(s.attempt == 1 for s in run.steps.values())  # duplicates never re-ran a step
    strip = [row[1:7] + row[8:] for row in _focus_rows(runtime, "pipe_clean")]
    assert strip == [row[1:7] + row[8:] for row in _focus_rows(chaos_runtime, "pipe_chaos")]
    usage = chaos_runtime.services.store.quota_usage(
        "pipe_chaos", chaos_runtime.services.clock.now()
    )
    assert usage.concurrent == 0
