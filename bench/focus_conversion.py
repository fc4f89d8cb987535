"""GCP detailed billing export -> FOCUS 1.3 on the embedded warehouse, against a plain copy.

    PYTHONPATH=. python -m bench.focus_conversion [--rows 100000 1000000 5000000]

For each size: a detailed export of that many rows is built inside the warehouse (a seeded
sample multiplied with SQL, so no rows pass through Python), then timed in the same run:

* plain copy:      ``CREATE TABLE ... AS SELECT *`` of the export (the warehouse's practical
                   limit)
* extract:         the gcp.bq_etl step (DELETE + INSERT into the org's raw table)
* convert:         the cloud.focus_convert step, billing rows in, FOCUS rows out: one
                   transaction of sp_cloud_1_convert_to_focus_gcp (the slice replace of
                   cost_data_standard_1_3), sp_cloud_2_reconcile_gcp and the check; "of which
                   the transaction" is that script, the rest the step's table checks and reads.
                   "reconcile" is the reconciliation CALL alone, run once more after the step
                   (informational: it is part of the step's figure)
* focus-converter: the FinOps Foundation's focus-converter 1.0 converting the same rows, read
                   from a Parquet export of the table (the extract job's file, not timed), in
                   its own venv ($PIPELINES_HOME/bench/focus-converter-venv, created on first
                   use; its pins: FOCUS_CONVERTER_PINS), in its fastest documented configuration:
                   ``--parquet-data-format dataset --no-export-include-source-columns``. The
                   whole process is timed, under ``timeout``: after an error its CLI can hang.
                   When it cannot run, or writes another number of rows, the reason is
                   printed and its figure is NaN.
* DuckDB SELECT:   the physical limit of this machine for the shape of the work: one
                   FOCUS-shaped ``COPY (SELECT ...) TO ... (FORMAT parquet)`` from the same
                   Parquet file (bench/duckdb_focus.py: BilledCost = cost + the credits, the
                   charge category, periods, service, SKU, project, region, quantities,
                   tags ...), DuckDB with one thread per core, as its own whole process.

* external lint:   at up to 100k rows, the org's FOCUS rows exported as a FinOps tool reads
                   them (``pipelines focus export``'s CSV) and judged by focus-data-toolkit
                   (``convert`` behind its mandatory lint, then ``validate``): the figure is
                   the toolkit's verdict and its time. It is pure Python (about 20 s per 100k
                   rows here), so the 1M set is left to our own checker.

Peak RSS: of each anchor, the process's own (ru_maxrss of a fresh wrapper's one child); of
copy, extract and the convert step, this process's VmHWM reset before the phase
(/proc/self/clear_refs, Linux; NaN elsewhere), so our figures include the embedded
warehouse running in the same process and the tables it holds.

Each line prints seconds, rows/s, the ratio to the plain copy and to focus-converter's
rows/s, and the peak RSS; then the targets of the issue (judged at 1M rows): convert within
1.8x of the plain copy, extract within 1.5x, convert at least 1.5x the rows/s of
focus-converter in its fastest mode, and the convert step's peak RSS under 1 GB at 5M rows.
DuckDB's ratio is informational. ``measure_focus(rows)`` returns the figures.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version as _version
from pathlib import Path

import pyarrow.parquet as pq
from google.cloud import bigquery

from bench import memory
from shared.adapters.bigquery.emulator import EmbeddedBigQuery
from shared.adapters.bigquery.warehouse import BigQueryWarehouse
from shared.demo.gcp_sample import load_sample_export
from shared.domain.cloud_billing import GCP_DETAILED_EXPORT_COLUMNS
from shared.domain.credentials import Credential, Secret
from shared.domain.focus import COST_TABLE, COST_TABLE_COLUMNS
from shared.domain.models import Run
from shared.domain.sql import table_ref
from shared.handlers.focus_export import export_focus
from shared.handlers.procedures import procedure_file
from shared.processors.base import StepContext
from shared.processors.cloud_focus import CloudFocusConvert
from shared.processors.gcp_bq_etl import GcpBqEtl
from tests.support.focus_toolkit import judge_file

PROJECT = "bench-project"
START = date(2026, 10, 1)
SEED_DAYS = 10  # the seed covers 10 usage days; copies repeat them
FOCUS_CONVERTER_PINS = (
    "focus-converter==1.0.0",
    "multimethod==1.10",
    "click==8.1.7",
    "typer==0.9.4",
)
FOCUS_CONVERTER_TIMEOUT_S = 1800
CONVERT_CALL = "sp_cloud_1_convert_to_focus_gcp`("  # in the step's one transaction script
TOOLKIT_MAX_ROWS = 100_000


def _timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


_STATUS, _CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def _hwm_mb() -> float:
    """This process's peak RSS (VmHWM) in MB; NaN where /proc does not report it."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def _timed_peak(action: Callable[[], object]) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of ``action`` in this process, the peak reset before it.

    Writing 5 to /proc/self/clear_refs resets VmHWM to the current RSS (Linux); where that
    is refused the peak is NaN rather than the process's earlier high-water mark.
    """
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return _timed(action), math.nan
    seconds = _timed(action)
    return seconds, _hwm_mb()


# A fresh wrapper process per measurement: RUSAGE_CHILDREN's ru_maxrss (kB on Linux) is then
# the peak of that one child (or of its largest descendant, e.g. the CLI under ``timeout``).
RSS_MARK = "bench-peak-rss-kb="
_PEAK_RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:])\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    f"print('{RSS_MARK}' + str(peak), file=sys.stderr)\n"
    "sys.exit(done.returncode)\n"
)


@dataclass(frozen=True, slots=True)
class _Child:
    seconds: float  # wall time of the wrapped command, wrapper start-up included
    rss_mb: float  # the child's peak RSS; NaN if the wrapper did not report it
    returncode: int
    stdout: str
    stderr: str  # the child's, without the wrapper's report


def _run_measured(command: list[str]) -> _Child:
    """``command`` as a separate process under a wrapper that reports its peak RSS."""
    wrapper = [sys.executable, "-c", _PEAK_RSS_WRAPPER]
    began = time.perf_counter()
    done = subprocess.run([*wrapper, *command], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    rss_mb, kept = math.nan, []
    for line in done.stderr.splitlines():
        if line.startswith(RSS_MARK):
            rss_mb = int(line[len(RSS_MARK) :]) / 1024
        else:
            kept.append(line)
    return _Child(seconds, rss_mb, done.returncode, done.stdout, "\n".join(kept))


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
    warehouse: BigQueryWarehouse,
    run: Run,
    config: dict[str, object],
    variables: Mapping[str, str] | None = None,
) -> StepContext:
    """One step of ``run`` (memory.bench_run) on ``warehouse``, its source system the run's
    provider."""
    return StepContext(
        run=run,
        step_id="bench",
        config=config,
        variables=variables or {},
        warehouse=warehouse,
        log=lambda _: None,
        should_stop=lambda: False,
        source_system=run.provider,
        # The source is named by the step config, not by the (absent) org credential.
        credential=lambda: Credential(run.provider, "bench", Secret("bench-not-a-key")),
    )


class _TimedWarehouse(BigQueryWarehouse):
    """Records how long the step's scripts that contain one of ``marks`` took."""

    def __init__(self, client: bigquery.Client, marks: tuple[str, ...]) -> None:
        super().__init__(client, PROJECT)
        self.marks, self.seconds = marks, dict.fromkeys(marks, 0.0)

    def run_script(self, sql: str) -> None:
        began = time.perf_counter()
        try:
            super().run_script(sql)
        finally:
            for mark in self.marks:
                # the CALL (or script), not the CREATE PROCEDURE that precedes it
                if mark in sql and "CREATE OR REPLACE PROCEDURE" not in sql:
                    self.seconds[mark] += time.perf_counter() - began


def _venv_dir() -> Path:
    home = Path(os.environ.get("PIPELINES_HOME", ".pipelines"))
    return (home / "bench" / "focus-converter-venv").resolve()


def _focus_converter() -> Path:
    """The focus-converter CLI in its own venv, created on first use (its pins clash with ours)."""
    venv = _venv_dir()
    cli = venv / "bin" / "focus-converter"
    if cli.exists():
        return cli
    print(f"  creating {venv} for focus-converter {' '.join(FOCUS_CONVERTER_PINS)} ...")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", *FOCUS_CONVERTER_PINS],
        check=True,
        timeout=900,
    )
    return cli


FOCUS_CONVERTER_CONFIG = (
    "focus-converter 1.0.0, --parquet-data-format dataset"
    " --no-export-include-source-columns, whole process"
)
DUCKDB_THREADS = os.cpu_count() or 1
DUCKDB_CONFIG = (
    f"DuckDB {_version('duckdb')}, threads={DUCKDB_THREADS}, one Parquet->Parquet COPY"
    " (bench/duckdb_focus.py), whole process"
)
NAN_ANCHOR = (math.nan, math.nan)


def _export_parquet(bq: EmbeddedBigQuery, dataset: str, table: str, path: Path) -> None:
    """The extract job writes the table (nested resource, price, credits ...) to Parquet
    inside the emulator: no row passes through this process. Not timed."""
    config = bigquery.ExtractJobConfig(destination_format="PARQUET")  # type: ignore[no-untyped-call]
    bq.client().extract_table(
        f"{PROJECT}.{dataset}.{table}", f"file://{path}", job_config=config
    ).result()


def _parquet_rows(path: Path) -> int:
    files = [path] if path.is_file() else sorted(path.rglob("*.parquet"))
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _failed(name: str, child: _Child) -> str:
    tail = (child.stderr or child.stdout).strip().splitlines()[-3:]
    why = "timed out" if child.returncode == 124 else f"exit {child.returncode}"
    return f"  {name} failed ({why}): {' | '.join(tail)}"


def _run_focus_converter(source: Path, out: Path, rows: int) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of focus-converter converting ``source``, in its fastest
    documented configuration; NaN (reason printed) if it cannot run or loses rows."""
    try:
        cli = _focus_converter()
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"  focus-converter not run: its venv could not be built ({exc})")
        return NAN_ANCHOR
    command = [
        "timeout", str(FOCUS_CONVERTER_TIMEOUT_S), str(cli), "convert",
        "--provider", "gcp",
        "--data-format", "parquet", "--parquet-data-format", "dataset",
        "--data-path", str(source),
        "--export-path", str(out), "--export-format", "parquet",
        "--no-export-include-source-columns",
    ]  # fmt: skip
    return _run_anchor("focus-converter", command, out, rows)


def _run_duckdb(source: Path, out: Path, rows: int) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of the DuckDB anchor (bench/duckdb_focus.py) as its own
    process, this venv's python; NaN (reason printed) if it fails or loses rows."""
    threads = DUCKDB_THREADS
    command = [
        "timeout", str(FOCUS_CONVERTER_TIMEOUT_S), sys.executable, "-m", "bench.duckdb_focus",
        str(source), str(out), "--threads", str(threads),
    ]  # fmt: skip
    return _run_anchor("DuckDB anchor", command, out, rows)


def _run_anchor(name: str, command: list[str], out: Path, rows: int) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of ``command``, which writes ``rows`` rows to ``out``;
    NaN (reason printed) when it fails or writes another number of rows."""
    done = _run_measured(command)
    if done.returncode != 0:
        print(_failed(name, done))
        return NAN_ANCHOR
    written = _parquet_rows(out)
    if written != rows:
        print(f"  {name} wrote {written} rows, not {rows}: figure not used")
        return NAN_ANCHOR
    return done.seconds, done.rss_mb


def _run_anchors(bq: EmbeddedBigQuery, dataset: str, table: str, rows: int) -> dict[str, float]:
    """Both external anchors on the same Parquet file of the export table."""
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "export.parquet"
        _export_parquet(bq, dataset, table, source)
        fc_s, fc_rss = _run_focus_converter(source, Path(work) / "focus-converter", rows)
        duck_s, duck_rss = _run_duckdb(source, Path(work) / "duckdb.parquet", rows)
    return {
        "focus_converter_s": fc_s,
        "focus_converter_rss_mb": fc_rss,
        "duckdb_s": duck_s,
        "duckdb_rss_mb": duck_rss,
    }


def _measure(bq: EmbeddedBigQuery, rows: int) -> dict[str, float]:
    warehouse = BigQueryWarehouse(bq.client(), PROJECT)
    source_dataset, org_dataset = f"src_{rows}", f"org_{rows}"
    warehouse.ensure_dataset(org_dataset)
    warehouse.ensure_table(org_dataset, COST_TABLE, COST_TABLE_COLUMNS)
    build = time.perf_counter()
    table = _build_export(warehouse, source_dataset, rows)
    print(f"\n{rows:,} export rows built in the warehouse in {time.perf_counter() - build:.1f} s")

    copy_s, copy_rss = _timed_peak(
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
    run = memory.bench_run("gcp/cost/billing", START, date(2026, 10, SEED_DAYS))
    ctx = _context(warehouse, run, source)
    extract_s, extract_rss = _timed_peak(lambda: GcpBqEtl().run(ctx))
    timed = _TimedWarehouse(bq.client(), (CONVERT_CALL,))
    convert_ctx = _context(timed, run, {"provider": "gcp", "dataset": org_dataset})
    result = None

    def convert() -> None:
        nonlocal result
        result = CloudFocusConvert().run(convert_ctx)

    step_s, convert_rss = _timed_peak(convert)
    assert result is not None
    assert result.rows_written == rows, result.rows_written
    reconcile = procedure_file("cloud/gcp/sp_cloud_2_reconcile_gcp.sql")
    reconcile_s = _timed(
        lambda: warehouse.run_script(CloudFocusConvert._call(convert_ctx, org_dataset, reconcile))
    )
    if rows <= TOOLKIT_MAX_ROWS:
        lint_s, verdict = _external_lint(warehouse, org_dataset, ctx.run.org_slug)
        print(f"  focus-data-toolkit lint + validate of {rows:,} FOCUS rows: {verdict}")
    else:
        lint_s = math.nan
    return {
        "rows": float(rows),
        "copy_s": copy_s,
        "extract_s": extract_s,
        "convert_s": step_s,
        "reconcile_s": reconcile_s,
        **_run_anchors(bq, source_dataset, table, rows),
        # where the convert time goes: the transaction script (the CALLs and the check)
        "convert_call_s": timed.seconds[CONVERT_CALL],
        "external_lint_s": lint_s,
        # peak RSS of our phases: this process, the embedded warehouse included
        "copy_rss_mb": copy_rss,
        "extract_rss_mb": extract_rss,
        "convert_rss_mb": convert_rss,
    }


def _external_lint(warehouse: BigQueryWarehouse, dataset: str, org_slug: str) -> tuple[float, str]:
    """Seconds and verdict of focus-data-toolkit on the org's exported FOCUS rows."""
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "focus.csv"
        with path.open("wb") as out:
            export_focus(warehouse, dataset, org_slug, out, "csv")
        started = time.perf_counter()
        verdict = judge_file(path, Path(work) / "focus_1_4")
        return time.perf_counter() - started, verdict[:2000] or "0 violations (lint OK)"


# Targets of the issue, judged at 1M rows (the RSS one at 5M): ratios of elapsed seconds
CONVERT_VS_COPY_MAX = 1.8  # convert within 1.8x the warehouse's plain copy
EXTRACT_VS_COPY_MAX = 1.5  # extract within 1.5x the plain copy
CONVERT_VS_FOCUS_CONVERTER_MIN = 1.5  # convert >= 1.5x focus-converter's rows/s (fastest mode)
CONVERT_RSS_MAX_MB = 1024.0  # convert's peak RSS < 1 GB at 5M rows
CONVERT_RSS_AT_ROWS = 5_000_000


def measure_focus(rows: int) -> dict[str, float]:
    """One run at ``rows`` rows on a fresh embedded warehouse: seconds and peak RSS per phase.

    Keys: rows, copy_s, extract_s, convert_s (the whole step), reconcile_s (its
    reconciliation CALL alone, run again), convert_call_s (the step's transaction script),
    external_lint_s; focus_converter_s and duckdb_s
    (the anchors, each a whole process: NaN when it could not run); peak RSS in MB:
    focus_converter_rss_mb, duckdb_rss_mb (of that process), copy_rss_mb, extract_rss_mb,
    convert_rss_mb (of this process during the phase, the embedded warehouse included; the
    convert figure covers the whole step; NaN where /proc cannot reset the peak).
    """
    with tempfile.TemporaryDirectory() as home, EmbeddedBigQuery(Path(home), PROJECT) as bq:
        return _measure(bq, rows)


def _ratio_text(ours: float, theirs: float) -> str:
    return "not measured" if math.isnan(ours) or math.isnan(theirs) else f"{theirs / ours:.2f}x"


def report(figures: dict[str, float]) -> None:
    rows, copy_s = figures["rows"], figures["copy_s"]
    fc_s = figures["focus_converter_s"]

    def line(name: str, seconds: float, rss_mb: float | None = None) -> None:
        rss = "" if rss_mb is None else f"  {_mb(rss_mb)} peak RSS"
        if math.isnan(seconds):
            print(f"  {name:<38} {'not run':>9}{rss}")
            return
        vs_fc = "" if math.isnan(fc_s) else f"  {fc_s / seconds:6.2f}x f-c rows/s"
        print(
            f"  {name:<38} {seconds:7.2f} s  {rows / seconds:>11,.0f} rows/s"
            f"  {seconds / copy_s:5.2f}x copy{vs_fc}{rss}"
        )

    convert_s = figures["convert_s"]
    print(
        "  (x copy: seconds / the plain copy's; x f-c rows/s: rows/s / focus-converter's."
        " Our RSS: this process, the embedded warehouse included)"
    )
    line("plain copy (CTAS SELECT *)", copy_s, figures["copy_rss_mb"])
    line("extract (gcp.bq_etl)", figures["extract_s"], figures["extract_rss_mb"])
    line("convert (the step)", convert_s, figures["convert_rss_mb"])
    line("  of which the transaction", figures["convert_call_s"])
    line("reconcile CALL alone (in the step)", figures["reconcile_s"])
    line("focus-converter (fastest mode)", fc_s, figures["focus_converter_rss_mb"])
    line("DuckDB FOCUS SELECT", figures["duckdb_s"], figures["duckdb_rss_mb"])
    line("external lint (focus-data-toolkit)", figures["external_lint_s"])
    print(f"  focus-converter: {FOCUS_CONVERTER_CONFIG}")
    print(f"  DuckDB:          {DUCKDB_CONFIG}")
    print(
        f"  convert vs plain copy: {convert_s / copy_s:.2f}x (target <= {CONVERT_VS_COPY_MAX}x"
        " at 1M)"
    )
    print(
        f"  extract vs plain copy: {figures['extract_s'] / copy_s:.2f}x"
        f" (target <= {EXTRACT_VS_COPY_MAX}x at 1M)"
    )
    print(
        f"  convert vs focus-converter: {_ratio_text(convert_s, fc_s)} its rows/s"
        f" (target >= {CONVERT_VS_FOCUS_CONVERTER_MIN}x at 1M)"
    )
    print(
        f"  convert vs DuckDB SELECT: {_ratio_text(convert_s, figures['duckdb_s'])} its rows/s"
        " (informational: the machine's limit)"
    )
    print(
        f"  convert step peak RSS: {_mb(figures['convert_rss_mb'])}"
        f" (target < {CONVERT_RSS_MAX_MB:,.0f} MB at {CONVERT_RSS_AT_ROWS:,} rows)"
    )


def _mb(value: float) -> str:
    return "  n/a MB" if math.isnan(value) else f"{value:5,.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[100_000, 1_000_000, CONVERT_RSS_AT_ROWS]
    )
    args = parser.parse_args()
    print("GCP detailed billing export -> FOCUS 1.3, embedded warehouse (bqemulator)")
    for rows in args.rows:
        report(measure_focus(rows))


if __name__ == "__main__":
    main()
