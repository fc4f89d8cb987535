"""A procedure's slice replace on the embedded warehouse: MERGE ... ON FALSE against DELETE +
INSERT, beside a plain copy of the same rows.

    PYTHONPATH=. python -m bench.slice_replace [--rows 100000 1000000]

For each size, SaaS plans are built inside the warehouse (one seeded row multiplied with
SQL, so no rows pass through Python) such that the SaaS subscription pipeline's two steps
each write that many rows: ``sp_subscription_2_calculate_daily_costs`` (one row per plan
per day of a DAYS-day window into ``subscription_costs_daily``) and
``sp_subscription_3_convert_to_focus`` (those rows as FOCUS rows of the wide
``cost_data_standard_1_3``). Per step, timed in the same run:

* plain copy:     ``CREATE TABLE ... AS SELECT *`` of the rows the step wrote (the
                  warehouse's practical limit for writing them)
* MERGE ON FALSE: the slice replace the procedures used before, as one statement: the
                  step's rows (the same source) replace the same slice of a table of the
                  same shape, first when the slice is empty, then again when it holds them.
                  Its time grows with target x source rows, so it is run up to
                  MERGE_MAX_ROWS only (1M would take hours; past 60 s a step's request
                  already times out on the embedded warehouse)
* DELETE+INSERT:  the same replace as the procedures now run it (DELETE of the slice, then
                  INSERT ... SELECT), in ``BEGIN TRANSACTION ... COMMIT`` as the step runs
                  its CALL, into a table of its own; empty slice, then the rerun
* the step:       generic.procedure_executor running the procedure as procedures/ has it
                  (a first run into the empty slice, then a rerun replacing it), whole: the
                  version check, the script with the CALL, the row count; "of which the
                  CALL script" is that script alone

Each line prints seconds, rows/s and the ratio to the plain copy. ``measure_slice_replace
(rows)`` returns the figures.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from bench import memory
from bench.focus_conversion import PROJECT, _timed, _TimedWarehouse
from shared.adapters.bigquery.emulator import EmbeddedBigQuery
from shared.adapters.bigquery.warehouse import BigQueryWarehouse
from shared.domain import saas_subscriptions as subs
from shared.domain.columns import Column
from shared.domain.focus import COST_TABLE, COST_TABLE_COLUMNS
from shared.domain.models import Run
from shared.domain.sql import literal, table_ref
from shared.processors.base import StepContext
from shared.processors.procedure_executor import ProcedureExecutor

START = date(2026, 3, 1)
DAYS = 10  # the run's window: every plan costs one row per day of it
ORG_DATASET = "bench_org_prod"
MERGE_MAX_ROWS = 200_000
# A statement's one HTTP request waits this long: the MERGE at 100k rows outlasts the
# warehouse's default (60 s), and the emulator runs a query inside that request.
STATEMENT_DEADLINE_S = 900.0


@dataclass(frozen=True, slots=True)
class _Step:
    """One step of configs/subscription/costs/subscription_cost.yml and the table it writes."""

    procedure: str
    source: str  # under procedures/
    table: str
    columns: tuple[Column, ...]


STEPS = (
    _Step(
        subs.SP_CALCULATE_DAILY_COSTS,
        f"subscription/{subs.SP_CALCULATE_DAILY_COSTS}.sql",
        subs.DAILY_COSTS_TABLE,
        subs.DAILY_COSTS_COLUMNS,
    ),
    _Step(
        subs.SP_CONVERT_TO_FOCUS,
        f"subscription/{subs.SP_CONVERT_TO_FOCUS}.sql",
        COST_TABLE,
        COST_TABLE_COLUMNS,
    ),
)


def _build_plans(warehouse: BigQueryWarehouse, plans: int) -> None:
    """``plans`` active plans covering the whole window, alternating cycle and pricing."""
    ref = table_ref(PROJECT, ORG_DATASET, subs.PLANS_TABLE)
    names = ", ".join(c.name for c in subs.PLANS_COLUMNS)
    warehouse.ensure_table(ORG_DATASET, subs.PLANS_TABLE, subs.PLANS_COLUMNS)
    warehouse.run_script(
        f"INSERT INTO {ref} ({names})"
        " SELECT CONCAT('sub-', CAST(n AS STRING)), 'Slack', NULL, 'Business+',"
        " IF(MOD(n, 2) = 0, 'monthly', 'annual'), IF(MOD(n, 3) = 0, 'per_seat', 'flat'),"
        " NUMERIC '12.5', 10, 'USD', DATE '2026-01-01', NULL, NUMERIC '5', NULL, NULL,"
        " CONCAT('team-', CAST(MOD(n, 20) AS STRING)), 'Team', JSON '{\"env\": \"prod\"}',"
        f" 'active' FROM UNNEST(GENERATE_ARRAY(1, {plans})) AS n"
    )


def _context(warehouse: BigQueryWarehouse, step: _Step, run: Run) -> StepContext:
    key = (
        ("p_org_slug", "STRING", run.org_slug),
        ("p_start_date", "DATE", run.start_date.isoformat()),
        ("p_end_date", "DATE", run.end_date.isoformat()),
        ("p_pipeline_id", "STRING", run.pipeline_id),
        ("p_credential_id", "STRING", run.credential_id),
        ("p_run_id", "STRING", run.run_id),
    )
    config: dict[str, object] = {
        "procedure": step.procedure,
        "source": step.source,
        "dataset": ORG_DATASET,
        "count_rows_in": step.table,
        "args": [{"name": n, "type": t, "value": v} for n, t, v in key],
    }
    return StepContext(
        run=run,
        step_id=step.procedure,
        config=config,
        variables={},
        warehouse=warehouse,
        log=lambda _: None,
        should_stop=lambda: False,
        source_system=subs.SOURCE_SYSTEM,
    )


def _end() -> date:
    return START + timedelta(days=DAYS - 1)


def _slice(ctx: StepContext, table: str) -> str:
    """The step's lineage slice of ``table`` (alias ``table``), as literals."""
    key = ctx.lineage_key
    return (
        f"{table}.x_org_slug = {literal(key.org_slug)}"
        f" AND {table}.x_pipeline_id = {literal(key.pipeline_id)}"
        f" AND {table}.x_credential_id = {literal(key.credential_id)}"
        f" AND {table}.x_pipeline_run_date BETWEEN {literal(key.start_date)}"
        f" AND {literal(key.end_date)}"
    )


def _merge_on_false(ctx: StepContext, source: str, target: str, names: str) -> str:
    """The procedures' former replace: ON FALSE matches nothing, so the slice's rows are
    deleted (NOT MATCHED BY SOURCE) and every source row inserted, in one statement."""
    return (
        f"MERGE {target} AS target USING (SELECT {names} FROM {source}) AS source ON FALSE"
        f" WHEN NOT MATCHED BY SOURCE AND {_slice(ctx, 'target')} THEN DELETE"
        f" WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({names})"
    )


def _delete_insert(ctx: StepContext, source: str, target: str, names: str) -> str:
    """The replace the procedures run now, in the transaction the step runs it in."""
    return (
        f"BEGIN TRANSACTION;\nDELETE FROM {target} AS target WHERE {_slice(ctx, 'target')};\n"
        f"INSERT INTO {target} ({names}) SELECT {names} FROM {source};\nCOMMIT TRANSACTION;"
    )


Shape = Callable[[StepContext, str, str, str], str]


def _count(warehouse: BigQueryWarehouse, table: str) -> int:
    [row] = warehouse.query(f"SELECT COUNT(*) AS n FROM {table_ref(PROJECT, ORG_DATASET, table)}")
    return int(row["n"])


def _statement_twice(
    warehouse: BigQueryWarehouse, ctx: StepContext, step: _Step, shape: Shape, twin: str
) -> tuple[float, float]:
    """Seconds of ``shape`` replacing the slice of a new table shaped like the step's with
    the step's rows: into the empty slice, then again over them (the rerun)."""
    if shape is _merge_on_false and _count(warehouse, step.table) > MERGE_MAX_ROWS:
        return math.nan, math.nan
    warehouse.ensure_table(ORG_DATASET, twin, step.columns)
    source, target = (table_ref(PROJECT, ORG_DATASET, t) for t in (step.table, twin))
    sql = shape(ctx, source, target, ", ".join(c.name for c in step.columns))
    rows = _count(warehouse, step.table)
    seconds = []
    for _ in range(2):
        seconds.append(_timed(lambda: warehouse.run_script(sql)))
        assert _count(warehouse, twin) == rows, twin  # the slice replaced, nothing doubled
    return seconds[0], seconds[1]


def _measure_step(bq: EmbeddedBigQuery, step: _Step, rows: int, run: Run) -> dict[str, float]:
    mark = f"{step.procedure}`("  # the CALL in the step's transaction script
    timed = _TimedWarehouse(bq.client(), (mark,))
    ctx = _context(timed, step, run)

    def run_step() -> float:
        timed.seconds[mark] = 0.0
        result = ProcedureExecutor().run(ctx)
        assert result.rows_written == rows, (step.procedure, result.rows_written)
        return timed.seconds[mark]

    first_s, first_call_s = _timed_value(run_step)
    copy_s = _timed(
        lambda: timed.run_script(
            f"CREATE TABLE {table_ref(PROJECT, ORG_DATASET, f'{step.table}_copy')} AS"
            f" SELECT * FROM {table_ref(PROJECT, ORG_DATASET, step.table)}"
        )
    )
    statements = BigQueryWarehouse(
        bq.client(), PROJECT, retry_deadline_seconds=STATEMENT_DEADLINE_S
    )
    merge_s = _statement_twice(statements, ctx, step, _merge_on_false, f"{step.table}_merged")
    delete_insert_s = _statement_twice(
        statements, ctx, step, _delete_insert, f"{step.table}_replaced"
    )
    rerun_s, rerun_call_s = _timed_value(run_step)
    assert _count(timed, step.table) == rows  # the rerun replaced the slice
    return {
        "rows": float(rows),
        "copy_s": copy_s,
        "merge_empty_s": merge_s[0],
        "merge_rerun_s": merge_s[1],
        "delete_insert_empty_s": delete_insert_s[0],
        "delete_insert_rerun_s": delete_insert_s[1],
        "step_first_s": first_s,
        "step_first_call_s": first_call_s,
        "step_rerun_s": rerun_s,
        "step_rerun_call_s": rerun_call_s,
    }


def _timed_value(action: Callable[[], float]) -> tuple[float, float]:
    """Seconds of ``action`` and the figure it returns."""
    value = 0.0

    def run() -> None:
        nonlocal value
        value = action()

    return _timed(run), value


def measure_slice_replace(rows: int) -> dict[str, dict[str, float]]:
    """One run at ``rows`` rows per step on a fresh embedded warehouse: procedure name ->
    seconds of each phase (keys: rows, copy_s, merge_empty_s, merge_rerun_s,
    delete_insert_empty_s, delete_insert_rerun_s, step_first_s, step_rerun_s and the CALL
    script's part of each step, step_first_call_s, step_rerun_call_s)."""
    if rows % DAYS:
        raise ValueError(f"--rows must be a multiple of {DAYS} (one row per plan and day)")
    with tempfile.TemporaryDirectory() as home, EmbeddedBigQuery(Path(home), PROJECT) as bq:
        warehouse = BigQueryWarehouse(bq.client(), PROJECT)
        warehouse.ensure_dataset(ORG_DATASET)
        _build_plans(warehouse, rows // DAYS)
        # both steps of one run, as the pipeline calls them
        run = memory.bench_run("subscription/costs/subscription_cost", START, _end())
        return {step.procedure: _measure_step(bq, step, rows, run) for step in STEPS}


def report(procedure: str, figures: dict[str, float]) -> None:
    rows, copy_s = figures["rows"], figures["copy_s"]
    print(f"\n{procedure}, {rows:,.0f} rows ({DAYS} days):")

    def line(name: str, seconds: float) -> None:
        if math.isnan(seconds):
            print(f"  {name:<44} {'not run':>9}  (above {MERGE_MAX_ROWS:,} rows)")
            return
        print(
            f"  {name:<44} {seconds:7.2f} s  {rows / seconds:>11,.0f} rows/s"
            f"  {seconds / copy_s:6.2f}x copy"
        )

    line("plain copy (CTAS SELECT *)", copy_s)
    line("before: MERGE ON FALSE, empty slice", figures["merge_empty_s"])
    line("before: MERGE ON FALSE, rerun", figures["merge_rerun_s"])
    line("after: DELETE+INSERT in a transaction, empty", figures["delete_insert_empty_s"])
    line("after: DELETE+INSERT in a transaction, rerun", figures["delete_insert_rerun_s"])
    line("the step (procedures/ checked out), first", figures["step_first_s"])
    line("  of which the CALL script", figures["step_first_call_s"])
    line("the step (procedures/ checked out), rerun", figures["step_rerun_s"])
    line("  of which the CALL script", figures["step_rerun_call_s"])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    args = parser.parse_args(argv)
    print("slice replace of the SaaS subscription procedures, embedded warehouse (bqemulator)")
    for rows in args.rows:
        for procedure, figures in measure_slice_replace(rows).items():
            report(procedure, figures)


if __name__ == "__main__":
    main()
