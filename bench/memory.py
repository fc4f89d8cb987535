"""Measuring a load's peak memory in a child process, the warehouse in another process.

The memory benchmarks (bench/genai_memory.py, bench/cur_load_memory.py) run the step in a
fresh child interpreter that reports its own peak RSS (``VmHWM``) on its last stdout
line. The warehouse (bqemulator: DuckDB, FastAPI) runs as a separate process, as BigQuery
does in production, so the figure is the loader's memory only. The reference is the same
child that imports the same modules and does nothing (``baseline``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from shared.adapters.bigquery.warehouse import BigQueryWarehouse
from shared.devtools.emulators import free_port, start_process
from shared.devtools.stack import _bqemulator_argv  # the argv `make up` uses for its bqemulator
from shared.domain.models import Run
from shared.domain.states import RunStatus

PROJECT = "bench-project"
_MARK = "BENCH-FIGURES "


@dataclass(frozen=True, slots=True)
class MemoryFigures:
    rows: int
    seconds: float
    peak_mb: float  # the child that ran the load
    baseline_mb: float  # the same child, modules imported, nothing run

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("nan")


def peak_rss_mb(status: Path = Path("/proc/self/status")) -> float:
    """This process's peak resident set size so far, in MiB.

    Linux's ``VmHWM`` is the peak of this program's own address space. ``ru_maxrss`` is
    not used where /proc exists: Linux carries the parent's peak over fork and exec into
    it, so a child started by a big parent would report the parent's size.
    """
    try:
        lines = status.read_text().splitlines()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    [hwm] = [line for line in lines if line.startswith("VmHWM:")]
    return int(hwm.split()[1]) / 1024  # "VmHWM:   123456 kB"


def report(figures: dict[str, float]) -> None:
    """Child side: print the figures where run_child finds them, with the peak RSS."""
    print(_MARK + json.dumps({**figures, "peak_mb": peak_rss_mb()}), flush=True)


def parse_args(
    parser: argparse.ArgumentParser, argv: list[str] | None
) -> argparse.Namespace | None:
    """A memory bench's arguments, with the hidden ``--baseline``: that child only
    reports the memory of the modules it imported, and gets None (nothing to run)."""
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline:
        report({})
        return None
    return args


def run_child(module: str, args: list[str], *, timeout: float = 1800) -> dict[str, float]:
    """Run ``python -m module args`` in a fresh interpreter; the figures it reported."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(_MARK)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"{module} {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    figures: dict[str, float] = json.loads(lines[-1].removeprefix(_MARK))
    return figures


@contextlib.contextmanager
def bigquery_process(home: Path) -> Iterator[str]:
    """bqemulator as its own process (as `make up` starts it); yields its REST URL."""
    port = free_port()
    emulator = start_process(
        "bigquery", _bqemulator_argv(home, PROJECT, port), port, home / "logs", timeout=120
    )
    try:
        yield emulator.url
    finally:
        emulator.stop()


def remote_warehouse(url: str) -> BigQueryWarehouse:
    """A warehouse on the bqemulator at ``url`` (another process)."""
    credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    client = bigquery.Client(
        project=PROJECT, credentials=credentials, client_options=ClientOptions(api_endpoint=url)
    )
    return BigQueryWarehouse(client, PROJECT)


def bench_run(pipeline_ref: str, start: date, end: date) -> Run:
    """A running run of ``pipeline_ref`` (provider/domain/pipeline) for a child's one step."""
    provider, _, pipeline = pipeline_ref.split("/")
    return Run(
        run_id=str(uuid.uuid4()),
        org_slug="bench_org",
        pipeline_ref=pipeline_ref,
        pipeline_id=f"{provider}_{pipeline}",
        provider=provider,
        status=RunStatus.RUNNING,
        trigger="cli",
        start_date=start,
        end_date=end,
        credential_id="bench",
        parameters={},
        created_at=datetime.now(UTC),
    )
