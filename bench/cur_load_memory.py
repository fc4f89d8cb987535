"""Peak memory of loading an AWS CUR 2.0 Parquet file of N rows (TARGETS: < 500 MB at 1M).

    PYTHONPATH=. python -m bench.cur_load_memory [--rows 1000000] [--batch-size 50000]

Writes the file in chunks (the sample month's rows repeated with new line-item ids), then
runs the aws.cur_load step against the embedded warehouse in this process and prints the
peak RSS before and after the load. The embedded BigQuery (DuckDB) runs in the same
process, so the figure includes the warehouse's own memory, not only the loader's.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shared.adapters.bigquery_warehouse import BigQueryWarehouse
from shared.adapters.bq_emulator import EmbeddedBigQuery
from shared.cloud.aws_sample import sample_cur_rows, write_sample_cur
from shared.domain.models import Run
from shared.domain.states import RunStatus
from shared.processors.base import StepContext
from shared.processors.billing_file_load import AwsCurLoad

PROJECT = "bench-project"
START = date(2026, 10, 1)
DAYS = 28


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _write(path: Path, rows: int) -> None:
    seed = path.parent / "seed.parquet"
    write_sample_cur(seed, START, DAYS)
    template = pq.read_table(seed)
    per_copy = sum(1 for _ in sample_cur_rows(START, DAYS))
    with pq.ParquetWriter(path, template.schema) as writer:
        written, copy = 0, 0
        while written < rows:
            take = min(per_copy, rows - written)
            chunk = template.slice(0, take)
            ids = pa.array([f"li-{copy:05d}-{i:06d}" for i in range(take)])
            chunk = chunk.set_column(0, "identity_line_item_id", ids)
            writer.write_table(chunk)
            written += take
            copy += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home, EmbeddedBigQuery(Path(home), PROJECT) as bq:
        cur = Path(home) / "cur" / "cur.parquet"
        cur.parent.mkdir()
        _write(cur, args.rows)
        warehouse = BigQueryWarehouse(bq.client(), PROJECT)
        warehouse.ensure_dataset("org")
        run = Run(
            run_id=str(uuid.uuid4()),
            org_slug="bench_org",
            pipeline_ref="aws/cost/billing",
            pipeline_id="aws_billing",
            provider="aws",
            status=RunStatus.RUNNING,
            trigger="cli",
            start_date=START,
            end_date=date(2026, 10, DAYS),
            credential_id="bench",
            parameters={},
            created_at=datetime.now(UTC),
        )
        ctx = StepContext(
            run=run,
            step_id="load_cur",
            config={"dataset": "org", "uri": str(cur), "batch_size": args.batch_size},
            variables={},
            warehouse=warehouse,
            log=lambda _: None,
            should_stop=lambda: False,
            source_system="aws",
        )
        before = _peak_mb()
        began = time.perf_counter()
        result = AwsCurLoad().run(ctx)
        seconds = time.perf_counter() - began
        print(
            f"{result.rows_written:,} CUR rows loaded in {seconds:.1f} s "
            f"({result.rows_written / seconds:,.0f} rows/s, {result.metrics['batches']} batches "
            f"of {args.batch_size:,})"
        )
        print(f"peak RSS: {before:,.0f} MB before the load, {_peak_mb():,.0f} MB after")


if __name__ == "__main__":
    main()
