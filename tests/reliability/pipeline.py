"""The pipeline every delivery-fault scenario runs, and what "recovered" means.

The real SaaS subscription pipeline (calculate_daily_costs -> convert_to_focus, a
depends_on chain of two procedures writing ``subscription_costs_daily`` and the FOCUS
table), copied with a 5 s step timeout and no lease grace: a runner that dies holding
a claim is replaced within seconds instead of ten minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from shared.demo.subscriptions import sample_subscription_plans
from shared.domain.focus import COST_TABLE
from shared.domain.models import Org, Run
from shared.domain.saas_subscriptions import DAILY_COSTS_TABLE, PLANS_COLUMNS, PLANS_TABLE
from shared.domain.sql import table_ref
from shared.domain.states import RunStatus, StepStatus
from shared.handlers.dispatch import RunRequest, dispatch_run
from shared.handlers.services import Services
from tests.support.runtime import REPO, write_configs

PIPELINE = ("subscription", "costs", "subscription_cost_faults")
STEPS = ("calculate_daily_costs", "convert_to_focus")
WINDOW = (date(2026, 10, 1), date(2026, 10, 15))
STEP_TIMEOUT_SECONDS = 5
LINEAGE_PER_RUN = (
    "x_org_slug",
    "x_run_id",
    "x_ingested_at",
    "x_ingestion_date",
)  # differ run to run by design
# (table, the columns that identify one row: a second row with the same key is a duplicate)
TABLES = (
    (DAILY_COSTS_TABLE, ("subscription_id", "cost_date")),
    (COST_TABLE, ("ResourceId", "ChargePeriodStart")),
)

Rows = dict[str, list[tuple[Any, ...]]]


def faults_configs(root: Path) -> Path:
    """A configs tree holding the fault pipeline (and the system registry)."""
    source = REPO / "configs" / "subscription" / "costs" / "subscription_cost.yml"
    body = yaml.safe_load(source.read_text())
    body["pipeline_id"] = PIPELINE[2]
    for step in body["steps"]:
        step["timeout_seconds"] = STEP_TIMEOUT_SECONDS
        step["retry"] = {"max_attempts": 3, "backoff_seconds": 0.2}
    return write_configs(root, {"/".join(PIPELINE): body})


def seed_plans(services: Services, slug: str) -> None:
    services.warehouse.load_rows(
        services.settings.org_dataset(slug),
        PLANS_TABLE,
        PLANS_COLUMNS,
        sample_subscription_plans(slug, WINDOW[0]),
    )


def start_run(services: Services, org: Org) -> Run:
    return dispatch_run(services, org, RunRequest(org.org_slug, *PIPELINE, *WINDOW))


def warehouse_rows(services: Services, slug: str, run_id: str) -> tuple[Rows, dict[str, int]]:
    """Each table's rows without the per-run lineage, the org slug masked, sorted; and
    per table how many rows repeat the key of another (0: no duplicates).

    Also checks what is left out: every row carries this run's id.
    """
    rows: Rows = {}
    dupes: dict[str, int] = {}
    for table, key in TABLES:
        ref = table_ref(services.warehouse.project_id, services.settings.org_dataset(slug), table)
        found = services.warehouse.query(f"SELECT * FROM {ref}")
        assert found, f"{table}: no rows"
        assert {r["x_run_id"] for r in found} == {run_id}, f"{table}: rows of other runs"
        dupes[table] = len(found) - len({tuple(r[c] for c in key) for r in found})
        rows[table] = sorted(
            (
                tuple(_mask(v, slug) for k, v in r.items() if k not in LINEAGE_PER_RUN)
                for r in found
            ),
            key=repr,
        )
    return rows, dupes


def _mask(value: Any, slug: str) -> Any:
    return value.replace(slug, "<org>") if isinstance(value, str) else value


@dataclass(frozen=True)
class Outcome:
    """What a run left behind: compared whole against the clean run's."""

    status: RunStatus
    steps: dict[str, StepStatus]
    rows_written: dict[str, int]
    duplicates: dict[str, int]
    concurrent_slots: int
    row_counts: dict[str, int]


def outcome(services: Services, slug: str, run_id: str) -> tuple[Outcome, Rows]:
    run = services.store.get_run(slug, run_id)
    assert run is not None
    rows, dupes = warehouse_rows(services, slug, run_id)
    return (
        Outcome(
            status=run.status,
            steps={s.step_id: s.status for s in run.steps.values()},
            rows_written={s.step_id: s.rows_written for s in run.steps.values()},
            duplicates=dupes,
            concurrent_slots=services.store.quota_usage(slug, services.clock.now()).concurrent,
            row_counts={table: len(found) for table, found in rows.items()},
        ),
        rows,
    )


def assert_recovered(got: tuple[Outcome, Rows], clean: tuple[Outcome, Rows]) -> None:
    """The faulty run ended exactly like the clean one: completed, every step succeeded,
    the same rows (so none missing and none duplicated), and its slot released."""
    outcome_got, rows_got = got
    outcome_clean, rows_clean = clean
    assert outcome_got.status is RunStatus.COMPLETED
    assert outcome_got.steps == dict.fromkeys(STEPS, StepStatus.SUCCEEDED)
    assert outcome_got.duplicates == dict.fromkeys(outcome_got.duplicates, 0)
    assert outcome_got.concurrent_slots == 0
    assert outcome_got == outcome_clean
    assert rows_got == rows_clean
