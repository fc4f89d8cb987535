"""Peak memory of extracting N provider usage rows (TARGETS: < 500 MB at 1M rows).

    PYTHONPATH=. python -m bench.genai_memory [--rows 1000000]

The ``genai.anthropic_admin`` step (report ``usage``) reads a month of usage pages from a
local Anthropic Admin API (bench/genai_pages_server.py, its own process) over real HTTP
and writes them to ``genai_payg_usage_raw`` on bqemulator (its own process). The step runs
in a fresh child interpreter that reports its peak RSS; the reference is the same child
importing the same modules and doing nothing. Pages stream into batched staging loads
(BigQueryWarehouse.replace_slice), so the peak should not grow with the month.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench import memory
from bench.genai_pages_server import DAYS, START
from shared.devtools.emulators import free_port, stop_group, wait_http
from shared.domain.credentials import Credential, Secret
from shared.domain.genai import USAGE_RAW_COLUMNS, USAGE_RAW_TABLE
from shared.processors.base import StepContext
from shared.processors.genai_admin import AnthropicAdminReport

DATASET = "bench_genai"
MODULE = "bench.genai_memory"  # the children run this module again


def _child(bq_url: str, api_url: str) -> None:
    """Run the extraction step in this process against the two servers; report figures."""
    warehouse = memory.remote_warehouse(bq_url)
    warehouse.ensure_dataset(DATASET)
    warehouse.ensure_table(DATASET, USAGE_RAW_TABLE, USAGE_RAW_COLUMNS)
    run = memory.bench_run("anthropic/genai/payg", START, date(START.year, START.month, DAYS))
    ctx = StepContext(
        run=run,
        step_id="usage",
        config={"report": "usage", "dataset": DATASET},
        variables={},
        warehouse=warehouse,
        log=lambda _: None,
        should_stop=lambda: False,
        source_system="anthropic",
        credential=lambda: Credential("anthropic", "bench", Secret("sk-bench"), api_url),
    )
    began = time.perf_counter()
    result = AnthropicAdminReport().run(ctx)
    memory.report({"rows": result.rows_written, "seconds": time.perf_counter() - began})


def measure_genai_memory(rows: int = 1_000_000) -> memory.MemoryFigures:
    """Start bqemulator and the page server, run the step and the baseline in children."""
    with tempfile.TemporaryDirectory(prefix="bench-genai-") as tmp:
        home = Path(tmp)
        port = free_port()
        argv = [sys.executable, "-m", "bench.genai_pages_server", f"--port={port}"]
        server = subprocess.Popen([*argv, f"--rows={rows}"], start_new_session=True)
        try:
            api_url = f"http://127.0.0.1:{port}"
            wait_http(f"{api_url}/", timeout=60, process=server)
            with memory.bigquery_process(home) as bq_url:
                baseline = memory.run_child(MODULE, ["--baseline"])
                loaded = memory.run_child(MODULE, ["--child", bq_url, api_url])
        finally:
            stop_group(server.pid)
            server.wait(10)
    return memory.MemoryFigures(
        int(loaded["rows"]), loaded["seconds"], loaded["peak_mb"], baseline["peak_mb"]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.genai_memory")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2, metavar=("BQ_URL", "API_URL"), help=argparse.SUPPRESS)
    if (args := memory.parse_args(parser, argv)) is None:
        return
    if args.child:
        _child(*args.child)
        return
    f = measure_genai_memory(args.rows)
    print(
        f"{f.rows:,} Anthropic usage rows extracted in {f.seconds:.1f} s "
        f"({f.rows_per_second:,.0f} rows/s)"
    )
    print(f"peak RSS: {f.peak_mb:,.0f} MB (baseline, modules imported: {f.baseline_mb:,.0f} MB)")


if __name__ == "__main__":
    main()
