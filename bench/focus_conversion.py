"""GCP detailed billing export -> FOCUS 1.3 on the embedded warehouse, against a plain copy.

    PYTHONPATH=. python -m bench.focus_conversion [--rows 100000 1000000]

For each size: a detailed export of that many rows is built inside the warehouse (a seeded
sample multiplied with SQL, so no rows pass through Python), then timed in the same run:

* plain copy:      ``CREATE TABLE ... AS SELECT *`` of the export (the warehouse's practical
                   limit)
* extract:         the gcp.bq_etl step (DELETE + INSERT into the org's raw table)
* convert:         the cloud.focus_convert step: sp_cloud_1_convert_to_focus_gcp into the
                   staging table, sp_cloud_2_reconcile_gcp, the check, and the publish of the
                   staged rows into cost_data_standard_1_3; "reconcile" is the part of it spent
                   in the reconciliation CALL (timed from the emulator's side of the step)
* focus-converter: the FinOps Foundation's focus-converter 1.0 converting the same rows, read
                   from a Parquet export of the table (the extract job's file, not timed), in
                   its own venv ($PIPELINES_HOME/bench/focus-converter-venv, created on first
                   use; its pins are in TARGETS.md). It runs under ``timeout``: after an error
                   its CLI can hang. When it cannot run, the reason is printed and its figure
                   is NaN.

* external lint:   at up to 100k rows, the org's FOCUS rows exported as a FinOps tool reads
                   them (``pipelines focus export``'s CSV) and judged by focus-data-toolkit
                   (``convert`` behind its mandatory lint, then ``validate``): the figure is
                   the toolkit's verdict and its time. It is pure Python (about 20 s per 100k
                   rows here), so the 1M set is left to our own checker.

and prints rows/s and the ratios of TARGETS.md: convert within 3x of the plain copy, and at
least 2.5x the rows/s of focus-converter. ``measure_focus(rows)`` returns the figures.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
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
from shared.domain.sql import table_ref
from shared.handlers.focus_export import export_focus
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
CONVERT_CALL, RECONCILE_CALL = "sp_cloud_1_convert_to_focus_gcp`(", "sp_cloud_2_reconcile_gcp`("
PUBLISH_MARK = "INSERT INTO `bench-project.org_"  # only the publish script inserts by script
TOOLKIT_MAX_ROWS = 100_000


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
    run = memory.bench_run("gcp/cost/billing", START, date(2026, 10, SEED_DAYS))
    return StepContext(
        run=run,
        step_id="bench",
        config=config,
        variables={},
        warehouse=warehouse,
        log=lambda _: None,
        should_stop=lambda: False,
        source_system="gcp",
        # The export is named by the step config, not by the (absent) org credential.
        credential=lambda: Credential("gcp", "bench", Secret("bench-not-a-key")),
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


def _run_focus_converter(bq: EmbeddedBigQuery, dataset: str, table: str, rows: int) -> float:
    """Seconds focus-converter takes to convert the export's rows; NaN (reason printed) if not."""
    try:
        cli = _focus_converter()
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"  focus-converter not run: its venv could not be built ({exc})")
        return math.nan
    with tempfile.TemporaryDirectory() as work:
        source, out = Path(work) / "export.parquet", Path(work) / "out"
        # The extract job writes the table (nested resource, price, credits ...) to Parquet
        # inside the emulator: no row passes through this process. Not timed.
        config = bigquery.ExtractJobConfig(destination_format="PARQUET")  # type: ignore[no-untyped-call]
        bq.client().extract_table(
            f"{PROJECT}.{dataset}.{table}", f"file://{source}", job_config=config
        ).result()
        command = [
            "timeout", str(FOCUS_CONVERTER_TIMEOUT_S), str(cli), "convert",
            "--provider", "gcp",
            "--data-format", "parquet", "--parquet-data-format", "file",
            "--data-path", str(source),
            "--export-path", str(out), "--export-format", "parquet",
        ]  # fmt: skip
        began = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - began
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            why = "timed out" if done.returncode == 124 else f"exit {done.returncode}"
            print(f"  focus-converter failed ({why}): {' | '.join(tail)}")
            return math.nan
        written = sum(pq.ParquetFile(f).metadata.num_rows for f in out.rglob("*.parquet"))
        if written != rows:
            print(f"  focus-converter wrote {written} rows, not {rows}: figure not used")
            return math.nan
    return seconds


def _measure(bq: EmbeddedBigQuery, rows: int) -> dict[str, float]:
    warehouse = BigQueryWarehouse(bq.client(), PROJECT)
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
    marks = (CONVERT_CALL, RECONCILE_CALL, PUBLISH_MARK)
    timed = _TimedWarehouse(bq.client(), marks)
    convert_ctx = _context(timed, org_dataset, {"provider": "gcp", "dataset": org_dataset})
    convert_ctx.run = ctx.run
    result = None

    def convert() -> None:
        nonlocal result
        result = CloudFocusConvert().run(convert_ctx)

    step_s = _timed(convert)
    assert result is not None
    assert result.rows_written == rows, result.rows_written
    reconcile_s = timed.seconds[RECONCILE_CALL]
    if rows <= TOOLKIT_MAX_ROWS:
        lint_s, verdict = _external_lint(warehouse, org_dataset, ctx.run.org_slug)
        print(f"  focus-data-toolkit lint + validate of {rows:,} FOCUS rows: {verdict}")
    else:
        lint_s = math.nan
    return {
        "rows": float(rows),
        "copy_s": copy_s,
        "extract_s": extract_s,
        "convert_s": step_s - reconcile_s,
        "reconcile_s": reconcile_s,
        "focus_converter_s": _run_focus_converter(bq, source_dataset, table, rows),
        # where the convert time goes: the conversion CALL and the publish script
        "convert_call_s": timed.seconds[CONVERT_CALL],
        "publish_s": timed.seconds[PUBLISH_MARK],
        "external_lint_s": lint_s,
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


def measure_focus(rows: int) -> dict[str, float]:
    """One run at ``rows`` rows on a fresh embedded warehouse: seconds per phase.

    Keys: rows, copy_s, extract_s, convert_s (the step without its reconciliation CALL),
    reconcile_s, focus_converter_s (NaN when focus-converter could not run).
    """
    with tempfile.TemporaryDirectory() as home, EmbeddedBigQuery(Path(home), PROJECT) as bq:
        return _measure(bq, rows)


def report(figures: dict[str, float]) -> None:
    rows, copy_s = figures["rows"], figures["copy_s"]

    def line(name: str, seconds: float) -> None:
        if math.isnan(seconds):
            print(f"  {name:<34} {'not run':>9}")
            return
        print(
            f"  {name:<34} {seconds:7.2f} s  {rows / seconds:>11,.0f} rows/s"
            f"  {seconds / copy_s:5.2f}x plain copy"
        )

    convert_s, fc_s = figures["convert_s"], figures["focus_converter_s"]
    line("plain copy (CTAS SELECT *)", copy_s)
    line("extract (gcp.bq_etl)", figures["extract_s"])
    line("convert (stage, check, publish)", convert_s)
    line("  of which the conversion CALL", figures["convert_call_s"])
    line("  of which the publish script", figures["publish_s"])
    line("reconcile (CALL)", figures["reconcile_s"])
    line("convert + reconcile (the step)", convert_s + figures["reconcile_s"])
    line("focus-converter 1.0", fc_s)
    line("external lint (focus-data-toolkit)", figures["external_lint_s"])
    print(
        f"  convert vs plain copy: {convert_s / copy_s:.2f}x (target <= 3x);"
        f" with reconcile {(convert_s + figures['reconcile_s']) / copy_s:.2f}x"
    )
    if math.isnan(fc_s):
        print("  convert vs focus-converter: not measured")
    else:
        print(
            f"  convert vs focus-converter: {fc_s / convert_s:.2f}x its rows/s (target >= 2.5x);"
            f" with reconcile {fc_s / (convert_s + figures['reconcile_s']):.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    print("GCP detailed billing export -> FOCUS 1.3, embedded warehouse (bqemulator)")
    for rows in args.rows:
        report(measure_focus(rows))


if __name__ == "__main__":
    main()
