"""Peak memory of loading an AWS CUR 2.0 Parquet file of N rows (TARGETS: < 500 MB at 1M).

    PYTHONPATH=. python -m bench.cur_load_memory [--rows 1000000] [--batch-size 10000]

Writes the file in chunks (the sample month's rows repeated with new line-item ids), then
runs the aws.cur_load step in a fresh child interpreter against bqemulator running as its
own process, so the figure is the loader's memory, not the warehouse's. The reference is
the same child importing the same modules and doing nothing (bench/memory.py).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench import memory
from shared.demo.aws_sample import sample_cur_rows, write_sample_cur
from shared.processors.base import StepContext
from shared.processors.billing_file_load import AwsCurLoad

START = date(2026, 10, 1)
DAYS = 28
DATASET = "bench_cur"
MODULE = "bench.cur_load_memory"  # the children run this module again


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


def _child(bq_url: str, cur: str, batch_size: int) -> None:
    """Run the load step in this process against the remote warehouse; report figures."""
    warehouse = memory.remote_warehouse(bq_url)
    warehouse.ensure_dataset(DATASET)
    run = memory.bench_run("aws/cost/billing", START, date(2026, 10, DAYS))
    ctx = StepContext(
        run=run,
        step_id="load_cur",
        config={"dataset": DATASET, "uri": cur, "batch_size": batch_size},
        variables={"files_root": str(Path(cur).parent)},
        warehouse=warehouse,
        log=lambda _: None,
        should_stop=lambda: False,
        source_system="aws",
    )
    began = time.perf_counter()
    result = AwsCurLoad().run(ctx)
    memory.report(
        {
            "rows": result.rows_written,
            "seconds": time.perf_counter() - began,
        }
    )


def measure_cur_memory(rows: int = 1_000_000, batch_size: int = 10_000) -> memory.MemoryFigures:
    """Write the file, start bqemulator, run the load and the baseline in children."""
    with tempfile.TemporaryDirectory(prefix="bench-cur-") as tmp:
        home = Path(tmp)
        cur = home / "cur" / "cur.parquet"
        cur.parent.mkdir()
        _write(cur, rows)
        with memory.bigquery_process(home) as bq_url:
            baseline = memory.run_child(MODULE, ["--baseline"])
            loaded = memory.run_child(MODULE, ["--child", bq_url, str(cur), str(batch_size)])
    return memory.MemoryFigures(
        int(loaded["rows"]), loaded["seconds"], loaded["peak_mb"], baseline["peak_mb"]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cur_load_memory")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # bq url, file, batch size
    if (args := memory.parse_args(parser, argv)) is None:
        return
    if args.child:
        bq_url, cur, batch_size = args.child
        _child(bq_url, cur, int(batch_size))
        return
    f = measure_cur_memory(args.rows, args.batch_size)
    print(
        f"{f.rows:,} CUR rows loaded in {f.seconds:.1f} s ({f.rows_per_second:,.0f} rows/s, "
        f"read {args.batch_size:,} rows at a time)"
    )
    print(f"peak RSS: {f.peak_mb:,.0f} MB (baseline, modules imported: {f.baseline_mb:,.0f} MB)")


if __name__ == "__main__":
    main()
