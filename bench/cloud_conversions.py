"""AWS CUR 2.0, Azure cost details and OCI cost reports -> FOCUS 1.3 on the embedded
warehouse, each against a plain copy of its raw table.

    PYTHONPATH=. python -m bench.cloud_conversions [--rows 200000 ...] [--providers aws ...]

For each provider and size, on a fresh embedded warehouse (bqemulator over DuckDB, in this
process, as the embedded runtime runs it):

* raw table (not timed): the provider's sample billing file (shared/demo/aws_sample.py: a
  CUR 2.0 Parquet file with on-demand, RI- and Savings-Plan-covered usage, their fees and
  negations, Spot, S3, an EDP discount, tax, credit, refund and a Marketplace line, two
  payers and currencies; azure_sample.py: an MCA gzip CSV with reservation and savings-plan
  usage, unused reservation hours, Spot, storage, Marketplace, a purchase, its refund and a
  rounding adjustment; oci_sample.py: a gzip CSV of hourly compute, storage and network
  lines with tag columns and a correction), SEED_DAYS days of it, is loaded by the
  provider's own load step (aws.cur_load, azure.cost_export_load, oci.cost_report_load)
  into a seed raw table, so columns, types, JSON and lineage are what the load leaves.
  SQL then multiplies it into the org's raw table, exactly N rows: each copy gets its own
  line-item / reference ids, resource ids (and AWS linked accounts) from a pool of
  RESOURCE_POOL, and its usage days shifted by a multiple of SEED_DAYS across the
  WINDOW_DAYS-day window of the run.
* plain copy: ``CREATE TABLE ... AS SELECT *`` of that raw table (the warehouse's
  practical limit for reading and writing those rows).
* convert: the cloud.focus_convert step for the provider, timed whole: its table checks,
  the ServiceCategory mappings load, the procedures' deploy (first use on this warehouse)
  and the one transaction of sp_cloud_1_convert_to_focus_<provider>,
  sp_cloud_2_reconcile_<provider> and the check (shown apart as "of which the
  transaction"), then the reconciliation read. It must write one FOCUS row per raw row.
  "reconcile" is the reconciliation CALL alone, run once more after the step
  (informational: it is part of the step's figure).
* FOCUS copy (informational): ``CREATE TABLE ... AS SELECT *`` of the FOCUS rows the step
  wrote, after it: what writing rows of that shape costs the warehouse at all, the floor
  under the convert step (its rows are wider than most raw tables').

Peak RSS: this process's VmHWM reset before the phase (bench.focus_conversion._timed_peak;
NaN where /proc cannot reset it), so it includes the embedded warehouse and its tables.

Each line prints rows, seconds, rows/s, the ratio of seconds to the plain copy's and the
peak RSS; the target of the issue: convert within CONVERT_VS_COPY_MAX (2.0x) of the copy.
``measure_clouds(rows)`` returns the figures.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from google.cloud import bigquery

from bench import memory
from bench.focus_conversion import PROJECT, _context, _timed, _timed_peak, _TimedWarehouse
from shared.adapters.bigquery.emulator import EmbeddedBigQuery
from shared.adapters.bigquery.warehouse import BigQueryWarehouse
from shared.demo.aws_sample import write_sample_cur
from shared.demo.azure_sample import write_sample_export
from shared.demo.oci_sample import write_sample_report
from shared.domain.focus import COST_TABLE
from shared.domain.models import Run
from shared.domain.sql import table_ref
from shared.handlers.procedures import procedure_file
from shared.processors.billing_file_load import (
    AwsCurLoad,
    AzureCostExportLoad,
    BillingFileLoad,
    OciCostReportLoad,
)
from shared.processors.cloud_focus import CloudFocusConvert

START = date(2026, 10, 1)
SEED_DAYS = 7  # usage days of the sample file; copies move them across the window
WINDOW_DAYS = 28  # the run's window: START and the 27 days after it
RESOURCE_POOL = 100  # distinct resource ids (and AWS linked accounts) per sample resource
CONVERT_VS_COPY_MAX = 2.0  # the target: convert within 2x the plain copy's seconds
DEFAULT_ROWS = 200_000
SEED_DATASET, ORG_DATASET = "bench_seed", "bench_org"


# A copy's value of a seed column, in the SQL of build_raw_table: the seed row is s, the
# copy's number copy_number and the days it moves shift_days.
def _shifted(column: str) -> str:
    return f"TIMESTAMP_ADD(s.{column}, INTERVAL shift_days DAY)"


def _numbered(column: str) -> str:
    return f"CONCAT(s.{column}, '-', CAST(copy_number AS STRING))"


def _pooled(column: str) -> str:
    # a suffix on the last segment keeps an ARM id's or OCID's shape (the converters parse it)
    return f"CONCAT(s.{column}, '-', CAST(MOD(copy_number, {RESOURCE_POOL}) AS STRING))"


@dataclass(frozen=True, slots=True)
class CloudSource:
    """A provider's sample file, its load step and the raw columns each copy varies."""

    provider: str
    sample_file: str
    write_sample: Callable[[Path, date, int], int]
    load: type[BillingFileLoad]
    varied: dict[str, str]  # raw column -> its SQL expression in a copy

    @property
    def raw_table(self) -> str:
        return self.load.raw_table


SOURCES: dict[str, CloudSource] = {
    "aws": CloudSource(
        "aws",
        "cur.parquet",
        write_sample_cur,
        AwsCurLoad,
        {
            "identity_line_item_id": _numbered("identity_line_item_id"),
            "line_item_usage_start_date": _shifted("line_item_usage_start_date"),
            "line_item_usage_end_date": _shifted("line_item_usage_end_date"),
            # still 12 digits: the first 10, then two of the copy's (the pool is <= 100)
            "line_item_usage_account_id": "CONCAT(SUBSTR(s.line_item_usage_account_id, 1, 10),"
            f" FORMAT('%02d', MOD(copy_number, {RESOURCE_POOL})))",
        },
    ),
    "azure": CloudSource(
        "azure",
        "cost_details.csv.gz",
        write_sample_export,
        AzureCostExportLoad,
        {
            "Date": _shifted("Date"),
            "ResourceId": _pooled("ResourceId"),
        },
    ),
    "oci": CloudSource(
        "oci",
        "0001.csv.gz",
        write_sample_report,
        OciCostReportLoad,
        {
            "lineItem_referenceNo": _numbered("lineItem_referenceNo"),
            # a correction names the line of its own copy
            "lineItem_backreferenceNo": _numbered("lineItem_backreferenceNo"),
            "lineItem_intervalUsageStart": _shifted("lineItem_intervalUsageStart"),
            "lineItem_intervalUsageEnd": _shifted("lineItem_intervalUsageEnd"),
            "product_resourceId": _pooled("product_resourceId"),
        },
    ),
}


def bench_run(source: CloudSource) -> Run:
    """The run whose load and convert steps the bench runs: the WINDOW_DAYS window."""
    end = START + timedelta(days=WINDOW_DAYS - 1)
    return memory.bench_run(f"{source.provider}/cost/billing", START, end)


def build_raw_table(
    warehouse: BigQueryWarehouse,
    source: CloudSource,
    run: Run,
    rows: int,
    *,
    seed_dataset: str = SEED_DATASET,
    org_dataset: str = ORG_DATASET,
) -> int:
    """The org's raw table of ``source`` with exactly ``rows`` rows of ``run``; returns the
    number of rows it holds (the sample loaded by the load step, multiplied in SQL)."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{source.provider}-") as work:
        sample = Path(work) / source.sample_file
        source.write_sample(sample, START, SEED_DAYS)
        load = _context(
            warehouse, run, {"dataset": seed_dataset, "uri": str(sample)}, {"files_root": work}
        )
        warehouse.ensure_dataset(seed_dataset)
        seed_rows = source.load().run(load).rows_written
    copies = -(-rows // seed_rows)
    names = ", ".join(c.name for c in source.load.raw_columns)
    varied = ", ".join(f"{sql} AS {column}" for column, sql in source.varied.items())
    day_shifts = WINDOW_DAYS // SEED_DAYS
    warehouse.ensure_dataset(org_dataset)
    warehouse.ensure_table(org_dataset, source.raw_table, source.load.raw_columns)
    raw = table_ref(PROJECT, org_dataset, source.raw_table)
    warehouse.run_script(
        f"INSERT INTO {raw} ({names})"
        f" SELECT {names} FROM ("
        f"  SELECT s.* REPLACE ({varied},"
        "    DATE_ADD(s.x_pipeline_run_date, INTERVAL shift_days DAY) AS x_pipeline_run_date)"
        f"  FROM {table_ref(PROJECT, seed_dataset, source.raw_table)} AS s"
        f"  CROSS JOIN (SELECT copy_number, MOD(copy_number, {day_shifts}) * {SEED_DAYS}"
        f"    AS shift_days FROM UNNEST(GENERATE_ARRAY(0, {copies - 1})) AS copy_number)"
        f") LIMIT {rows}"
    )
    [count] = warehouse.query(f"SELECT COUNT(*) AS n FROM {raw}")
    return int(count["n"])


@dataclass(frozen=True, slots=True)
class ConversionFigures:
    provider: str
    rows: int  # raw rows built, converted
    focus_rows: int  # what the step wrote for the run
    copy_s: float
    convert_s: float  # the whole step
    transaction_s: float  # of which its one transaction (the CALLs and the check)
    reconcile_s: float  # the reconciliation CALL alone, run again after the step
    focus_copy_s: float  # a plain copy of the FOCUS rows the step wrote
    copy_rss_mb: float
    convert_rss_mb: float

    @property
    def ratio_to_copy(self) -> float:
        return self.convert_s / self.copy_s

    @property
    def target_met(self) -> bool:
        return self.ratio_to_copy <= CONVERT_VS_COPY_MAX


def measure_conversion(
    client: bigquery.Client,
    source: CloudSource,
    rows: int,
    *,
    seed_dataset: str = SEED_DATASET,
    org_dataset: str = ORG_DATASET,
) -> ConversionFigures:
    """Build ``rows`` raw rows of ``source``, then time its plain copy and its convert
    step on the warehouse of ``client``."""
    warehouse = BigQueryWarehouse(client, PROJECT)
    run = bench_run(source)
    built = build_raw_table(
        warehouse, source, run, rows, seed_dataset=seed_dataset, org_dataset=org_dataset
    )
    assert built == rows, (built, rows)
    copy_s, copy_rss = _timed_peak(
        lambda: warehouse.run_script(
            f"CREATE TABLE {table_ref(PROJECT, seed_dataset, 'plain_copy')} AS"
            f" SELECT * FROM {table_ref(PROJECT, org_dataset, source.raw_table)}"
        )
    )
    # the CALL inside the step's script, not the CREATE PROCEDURE that deploys it
    transaction = f"sp_cloud_1_convert_to_focus_{source.provider}`("
    timed = _TimedWarehouse(client, (transaction,))
    convert = _context(timed, run, {"provider": source.provider, "dataset": org_dataset})
    convert_s, convert_rss = _timed_peak(lambda: CloudFocusConvert().run(convert))
    focus = table_ref(PROJECT, org_dataset, COST_TABLE)
    [written] = warehouse.query(
        f"SELECT COUNT(*) AS n FROM {focus} WHERE x_run_id = @run", {"run": run.run_id}
    )
    focus_copy_s = _timed(
        lambda: warehouse.run_script(
            f"CREATE TABLE {table_ref(PROJECT, seed_dataset, 'focus_copy')} AS"
            f" SELECT * FROM {focus}"
        )
    )
    reconcile = procedure_file(
        f"cloud/{source.provider}/sp_cloud_2_reconcile_{source.provider}.sql"
    )
    reconcile_s = _timed(
        lambda: warehouse.run_script(CloudFocusConvert._call(convert, org_dataset, reconcile))
    )
    return ConversionFigures(
        provider=source.provider,
        rows=built,
        focus_rows=int(written["n"]),
        copy_s=copy_s,
        convert_s=convert_s,
        transaction_s=timed.seconds[transaction],
        reconcile_s=reconcile_s,
        focus_copy_s=focus_copy_s,
        copy_rss_mb=copy_rss,
        convert_rss_mb=convert_rss,
    )


def measure_clouds(
    rows: int = DEFAULT_ROWS, providers: Sequence[str] = tuple(SOURCES)
) -> list[ConversionFigures]:
    """Each provider at ``rows`` rows, each on a fresh embedded warehouse."""
    figures = []
    for provider in providers:
        with (
            tempfile.TemporaryDirectory() as home,
            EmbeddedBigQuery(Path(home), PROJECT) as bq,
        ):
            figures.append(measure_conversion(bq.client(), SOURCES[provider], rows))
    return figures


def _mb(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f} MB"


def report(f: ConversionFigures) -> None:
    def line(name: str, seconds: float, rss_mb: float | None = None) -> None:
        rss = "" if rss_mb is None else f"  peak RSS {_mb(rss_mb)}"
        print(
            f"  {name:<34} {seconds:7.2f} s  {f.rows / seconds:>10,.0f} rows/s"
            f"  {seconds / f.copy_s:5.2f}x copy{rss}"
        )

    print(f"\n{f.provider}: {f.rows:,} raw rows -> {f.focus_rows:,} FOCUS rows")
    line("plain copy (CTAS SELECT *)", f.copy_s, f.copy_rss_mb)
    line("convert (the step)", f.convert_s, f.convert_rss_mb)
    line("  of which the transaction", f.transaction_s)
    line("reconcile CALL alone (in the step)", f.reconcile_s)
    line("plain copy of the FOCUS rows", f.focus_copy_s)
    verdict = "met" if f.target_met else "NOT met"
    print(
        f"  convert vs plain copy: {f.ratio_to_copy:.2f}x"
        f" (target <= {CONVERT_VS_COPY_MAX}x): {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[DEFAULT_ROWS])
    parser.add_argument("--providers", nargs="+", choices=tuple(SOURCES), default=list(SOURCES))
    args = parser.parse_args()
    print(
        "AWS CUR, Azure cost details, OCI cost reports -> FOCUS 1.3,"
        " embedded warehouse (bqemulator)"
    )
    for rows in args.rows:
        for figures in measure_clouds(rows, args.providers):
            report(figures)


if __name__ == "__main__":
    main()
