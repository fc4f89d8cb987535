"""GCP detailed billing export -> FOCUS 1.3 on the embedded warehouse, against a plain copy.

    PYTHONPATH=. python -m bench.focus_conversion [--rows 100000 1000000]

For each size: a detailed export of that many rows is built inside the warehouse (a seeded
sample multiplied with SQL, so no rows pass through Python), then timed in the same run:

* plain copy: ``CREATE TABLE ... AS SELECT *`` of the export (the warehouse's practical limit)
* extract:    the gcp.bq_etl step's MERGE into the org's raw table
* convert:    the cloud.focus_convert step (procedure sp_cloud_1_convert_to_focus_gcp, then the
              reconciliation procedure and its check)

and prints rows/s and the ratio of each to the plain copy (TARGETS.md: convert within 3x of
a plain copy). The FinOps Foundation focus-converter comparison (its own venv) is not run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from shared.adapters.bigquery_warehouse import BigQueryWarehouse
from shared.adapters.bq_emulator import EmbeddedBigQuery
from shared.cloud.gcp_sample import load_sample_export
from shared.domain.cloud_billing import GCP_DETAILED_EXPORT_COLUMNS
from shared.domain.focus import COST_TABLE, COST_TABLE_COLUMNS
from shared.domain.models import Run
from shared.domain.sql import table_ref
from shared.domain.states import RunStatus
from shared.processors.base import StepContext
from shared.processors.cloud_focus import CloudFocusConvert
from shared.processors.gcp_bq_etl import GcpBqEtl

PROJECT = "bench-project"
START = date(2026, 10, 1)
SEED_DAYS = 10  # the seed covers 10 usage days; copies repeat them


def _timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def _build_export(warehouse: BigQueryWarehouse, dataset: str, rows: int) -> str:
    seed_table, table = "seed", f"export_{rows}"
    seed = load_sample_export(warehouse, dataset, seed_table, START, SEED_DAYS, hours=24)
    copies = -(-rows // seed)
    names = ", ".join(c.name for c in GCP_DETAILED_EXPORT_COLUMNS)
    warehouse.ensure_table(dataset, table, GCP_DETAILED_EXPORT_COLUMNS)
    warehouse.run_script(
        f"INSERT INTO {table_ref(PROJECT, dataset, table)} ({names})"
        f" SELECT {names} FROM (SELECT s.*, ROW_NUMBER() OVER () AS n"
        f" FROM {table_ref(PROJECT, dataset, seed_table)} AS s"
        f" CROSS JOIN UNNEST(GENERATE_ARRAY(1, {copies})) AS copy) WHERE n <= {rows}"
    )
    [count] = warehouse.query(f"SELECT COUNT(*) AS n FROM {table_ref(PROJECT, dataset, table)}")
    assert count["n"] == rows, count
    return table


def _context(
    warehouse: BigQueryWarehouse, org_dataset: str, config: dict[str, object]
) -> StepContext:
    now = datetime.now(UTC)
    run = Run(
        run_id=str(uuid.uuid4()),
        org_slug="bench_org",
        pipeline_ref="gcp/cost/billing",
        pipeline_id="gcp_billing",
        provider="gcp",
        status=RunStatus.RUNNING,
        trigger="cli",
        start_date=START,
        end_date=date(2026, 10, SEED_DAYS),
        credential_id="bench",
        parameters={},
        created_at=now,
    )
    return StepContext(
        run=run,
        step_id="bench",
        config=config,
        variables={},
        warehouse=warehouse,
        log=lambda _: None,
        should_stop=lambda: False,
        source_system="gcp",
    )


def bench(warehouse: BigQueryWarehouse, rows: int) -> None:
    source_dataset, org_dataset = f"src_{rows}", f"org_{rows}"
    warehouse.ensure_dataset(org_dataset)
    warehouse.ensure_table(org_dataset, COST_TABLE, COST_TABLE_COLUMNS)
    build = time.perf_counter()
    table = _build_export(warehouse, source_dataset, rows)
    print(f"\n{rows:,} export rows built in the warehouse in {time.perf_counter() - build:.1f} s")

    copy_s = _timed(
        lambda: warehouse.run_script(
            f"CREATE TABLE {table_ref(PROJECT, source_dataset, 'plain_copy')} AS"
            f" SELECT * FROM {table_ref(PROJECT, source_dataset, table)}"
        )
    )
    source: dict[str, object] = {
        "dataset": org_dataset,
        "source_project": PROJECT,
        "source_dataset": source_dataset,
        "source_table": table,
    }
    ctx = _context(warehouse, org_dataset, source)
    extract_s = _timed(lambda: GcpBqEtl().run(ctx))
    convert_ctx = _context(warehouse, org_dataset, {"provider": "gcp", "dataset": org_dataset})
    convert_ctx.run = ctx.run
    result = None

    def convert() -> None:
        nonlocal result
        result = CloudFocusConvert().run(convert_ctx)

    convert_s = _timed(convert)
    assert result is not None
    assert result.rows_written == rows, result.rows_written

    def line(name: str, seconds: float) -> str:
        return (
            f"  {name:<28} {seconds:7.2f} s  {rows / seconds:>11,.0f} rows/s"
            f"  {seconds / copy_s:5.2f}x plain copy"
        )

    print(line("plain copy (CTAS SELECT *)", copy_s))
    print(line("extract (gcp.bq_etl)", extract_s))
    print(line("convert + reconcile", convert_s))
    print(line("extract + convert", extract_s + convert_s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home, EmbeddedBigQuery(Path(home), PROJECT) as bq:
        warehouse = BigQueryWarehouse(bq.client(), PROJECT)
        print("GCP detailed billing export -> FOCUS 1.3, embedded warehouse (bqemulator)")
        for rows in args.rows:
            bench(warehouse, rows)


if __name__ == "__main__":
    main()
