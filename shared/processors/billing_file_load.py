"""Billing files -> the org's raw table, streamed in batches: ``aws.cur_load`` (CUR 2.0),
``azure.cost_export_load`` (Cost Management cost-details exports, MCA or EA names) and
``oci.cost_report_load`` (OCI cost reports, gzip CSV with one column per tag).

The files (Parquet or gzip CSV, from ``uri`` or the run parameter named by the provider:
a local file or directory, ``gs://bucket/prefix`` or ``s3://bucket/prefix``, see
shared/adapters/files/billing_sources.py; a remote object is downloaded to a temporary file)
are read
``batch_size`` rows at a time and streamed into a staging table (one load job per ~32 MB),
so memory holds one read batch and one load payload, never the month. One MERGE
(procedures/cloud/merge_billing_staging.sql) then replaces the window's usage days of the
raw table from the staging table, which is dropped afterwards. A bad value fails the step
naming file, row and column, before anything reaches the raw table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from shared.adapters.bigquery.sql_files import PROCEDURES_DIR, render_sql
from shared.adapters.files.billing_files import SUFFIXES, FileSpec, plan_file, read_batches
from shared.adapters.files.billing_sources import BillingFileSource, BillingObject, open_source
from shared.domain.billing_schemas import aws_variants, azure_variants, focus_variants
from shared.domain.cloud_billing import (
    AWS_CUR_COLUMNS,
    AWS_CUR_MAP_COLUMNS,
    AWS_RAW_COLUMNS,
    AWS_RAW_TABLE,
    AWS_REQUIRED,
    AZURE_ALIASES,
    AZURE_COLUMNS,
    AZURE_RAW_COLUMNS,
    AZURE_RAW_TABLE,
    AZURE_REQUIRED,
    FOCUS_EXPORT_COLUMNS,
    FOCUS_EXPORT_MAP_COLUMNS,
    FOCUS_EXPORT_RAW_COLUMNS,
    FOCUS_EXPORT_RAW_TABLE,
    FOCUS_EXPORT_REQUIRED,
    OCI_COLUMNS,
    OCI_FILE_NAMES,
    OCI_RAW_COLUMNS,
    OCI_RAW_TABLE,
    OCI_REQUIRED,
)
from shared.domain.errors import BadRequest, StepFailure
from shared.domain.focus import FOCUS_ADDED_IN
from shared.domain.row_accounting import RowTally
from shared.domain.sql import IDENTIFIER_RE, table_ref
from shared.handlers.credentials import INTERNAL_CREDENTIAL
from shared.ports import Column
from shared.processors.base import (
    ProcessorConfig,
    StepContext,
    StepResult,
    parse_config,
    register,
    rows_of_run_by_day,
)

MERGE_SQL = PROCEDURES_DIR / "cloud" / "merge_billing_staging.sql"


class BillingFileLoadConfig(ProcessorConfig):
    dataset: str = Field(pattern=IDENTIFIER_RE.pattern)
    uri: str | None = None  # or the run parameter named by the processor (uri_parameter)
    batch_size: int = Field(default=10_000, ge=100, le=500_000)  # rows per read
    # An S3-compatible store (OCI Object Storage, MinIO) for s3:// URIs; boto3 also reads
    # AWS_ENDPOINT_URL_S3.
    s3_endpoint_url: str | None = Field(default=None, pattern=r"^https?://[^\s/@?#]+/?$")


def open_billing_files(
    ctx: StepContext,
    uri: str,
    s3_endpoint_url: str | None,
    suffixes: tuple[str, ...] = SUFFIXES,
) -> tuple[BillingFileSource, list[BillingObject]]:
    """The source of a run's billing files and its files; a bad URI fails the step."""
    try:
        source = open_source(
            uri,
            credential=lambda: (
                ctx.credential() if ctx.run.credential_id != INTERNAL_CREDENTIAL else None
            ),
            project=ctx.variables.get("project_id"),
            s3_endpoint_url=s3_endpoint_url,
            log=ctx.log,
            files_root=Path(root) if (root := ctx.variables.get("files_root")) else None,
            suffixes=suffixes,
        )
        return source, source.objects()
    except BadRequest as exc:
        raise StepFailure(f"config.uri: {exc.message}") from exc


class BillingFileLoad:
    """The shared load; each provider sets its file spec, raw table and parameter name."""

    Config: ClassVar[type[ProcessorConfig]] = BillingFileLoadConfig
    source_system: ClassVar[str | None]  # None: the pipeline's provider (FOCUS exports)
    spec: ClassVar[FileSpec]
    raw_table: ClassVar[str]
    raw_columns: ClassVar[tuple[Column, ...]]
    usage_start_column: ClassVar[str]
    uri_parameter: ClassVar[str]

    def run(self, ctx: StepContext) -> StepResult:
        given: dict[str, Any] = dict(ctx.config)
        if ctx.run.parameters.get(self.uri_parameter):
            given["uri"] = ctx.run.parameters[self.uri_parameter]
        config = parse_config(BillingFileLoadConfig, given)
        if not config.uri:
            raise StepFailure(
                f"config.uri: no billing file location (step config or run parameter "
                f"{self.uri_parameter})"
            )
        source, files = open_billing_files(ctx, config.uri, config.s3_endpoint_url)
        warehouse, dataset, key = ctx.warehouse, config.dataset, ctx.lineage_key
        warehouse.ensure_table(dataset, self.raw_table, self.raw_columns)
        staging = f"_stg_{self.raw_table}_" + re.sub(r"[^A-Za-z0-9_]", "_", ctx.run.run_id)
        staged = 0
        tally = RowTally(key.start_date, key.end_date)
        layouts: dict[str, int] = {}
        try:
            for index, obj in enumerate(files):
                if ctx.should_stop():
                    raise StepFailure("stopped while loading billing files", retryable=True)
                try:
                    with source.local_file(obj) as path:  # downloaded first if remote
                        try:
                            plan = plan_file(path, self.spec)
                            ctx.log(f"{obj.uri}: {plan.variant}")
                            layouts[plan.variant] = layouts.get(plan.variant, 0) + 1
                            batches = read_batches(path, self.spec, config.batch_size, plan)
                            staged += warehouse.load_rows(
                                dataset,
                                staging,
                                self.spec.columns,
                                self._rows(ctx, batches, tally, obj.uri),
                                replace=index == 0,
                            )
                        except BadRequest as exc:  # a bad header or row: name file and row
                            raise StepFailure(f"{obj.uri}: {exc.message}") from exc
                except BadRequest as exc:  # the object could not be fetched (names its URI)
                    raise StepFailure(exc.message) from exc
            ctx.log(f"staged {staged} rows from {len(files)} files")
            if tally.first_undated is not None:
                file, row = tally.first_undated
                raise StepFailure(
                    f"{file}: {tally.undated} rows have no {self.usage_start_column} (the first"
                    f" is data row {row}): a cost row needs its usage day; nothing was written"
                )
            if outside := tally.outside_summary():
                ctx.log(f"counted out: {outside}")
            warehouse.run_script(
                render_sql(
                    MERGE_SQL,
                    identifiers={
                        "project_id": warehouse.project_id,
                        "dataset": dataset,
                        "raw_table": self.raw_table,
                        "staging_table": staging,
                        "usage_start_column": self.usage_start_column,
                    },
                    identifier_lists={"columns": self.spec.names},
                    literals={
                        **ctx.slice_literals(),
                        "source_system": self.source_system or ctx.source_system,
                    },
                )
            )
        finally:
            warehouse.run_script(
                f"DROP TABLE IF EXISTS {table_ref(warehouse.project_id, dataset, staging)}"
            )
        written = sum(rows_of_run_by_day(ctx, dataset, self.raw_table).values())
        metrics: dict[str, Any] = {
            "files": len(files),
            "rows_staged": staged,
            "layouts": layouts,
            **tally.metrics(),
        }
        if written != tally.in_window:
            raise StepFailure(
                f"read {tally.in_window} rows inside the window but the raw table holds"
                f" {written} of this run: rows were lost on the way; nothing is converted"
            )
        if staged and not tally.in_window:
            # Not an error (a file of another month), but never a quiet "0 rows".
            metrics["warning"] = tally.all_outside_warning()
            ctx.log(f"warning: {metrics['warning']}")
        return StepResult(rows_written=written, metrics=metrics)

    def _rows(
        self,
        ctx: StepContext,
        batches: Iterator[list[dict[str, Any]]],
        tally: RowTally,
        file: str,
    ) -> Iterator[dict[str, Any]]:
        """The rows of a file's read batches, each counted in ``tally`` by its usage day;
        a stop request is checked between batches."""
        number = 0
        for batch in batches:
            if ctx.should_stop():
                raise StepFailure("stopped while loading billing files", retryable=True)
            for row in batch:
                number += 1
                tally.count(_usage_day(row.get(self.usage_start_column)), file, number)
            yield from batch


def _usage_day(moment: str | None) -> date | None:
    """The day of a UTC ISO timestamp as the reader writes it (billing_files._timestamp),
    as DATE() dates it in the MERGE; no second parse of the timestamp."""
    if moment is None:
        return None
    return date.fromisoformat(moment[:10])


@register
class AwsCurLoad(BillingFileLoad):
    ps_type: ClassVar[str] = "aws.cur_load"
    source_system = "aws"
    spec = FileSpec(
        AWS_CUR_COLUMNS,
        map_columns=AWS_CUR_MAP_COLUMNS,
        provider="AWS",
        variants=aws_variants([c.name for c in AWS_CUR_COLUMNS], AWS_REQUIRED),
    )
    raw_table = AWS_RAW_TABLE
    raw_columns = AWS_RAW_COLUMNS
    usage_start_column = "line_item_usage_start_date"
    uri_parameter = "cur_uri"


@register
class AzureCostExportLoad(BillingFileLoad):
    ps_type: ClassVar[str] = "azure.cost_export_load"
    source_system = "azure"
    spec = FileSpec(
        AZURE_COLUMNS,
        map_columns=("Tags",),
        provider="Azure",
        variants=azure_variants([c.name for c in AZURE_COLUMNS], AZURE_ALIASES, AZURE_REQUIRED),
    )
    raw_table = AZURE_RAW_TABLE
    raw_columns = AZURE_RAW_COLUMNS
    usage_start_column = "Date"
    uri_parameter = "export_uri"


@register
class OciCostReportLoad(BillingFileLoad):
    ps_type: ClassVar[str] = "oci.cost_report_load"
    source_system = "oci"
    spec = FileSpec(
        OCI_COLUMNS,
        aliases=OCI_FILE_NAMES,
        map_columns=("tags",),
        prefixed_map=("tags/", "tags"),
        provider="OCI cost report",
        required=OCI_REQUIRED,
    )
    raw_table = OCI_RAW_TABLE
    raw_columns = OCI_RAW_COLUMNS
    usage_start_column = "lineItem_intervalUsageStart"
    uri_parameter = "report_uri"


@register
class FocusExportLoad(BillingFileLoad):
    """A provider's own FOCUS export (AWS Data Exports FOCUS 1.0/1.2, Azure FocusCost, OCI
    FOCUS reports), any FOCUS version from 1.0; ``cloud.focus_convert`` with provider
    ``focus_export`` brings it to 1.3."""

    ps_type: ClassVar[str] = "cloud.focus_export_load"
    source_system = None
    spec = FileSpec(
        FOCUS_EXPORT_COLUMNS,
        map_columns=FOCUS_EXPORT_MAP_COLUMNS,
        provider="FOCUS",
        variants=focus_variants(
            [c.name for c in FOCUS_EXPORT_COLUMNS], FOCUS_ADDED_IN, FOCUS_EXPORT_REQUIRED
        ),
    )
    raw_table = FOCUS_EXPORT_RAW_TABLE
    raw_columns = FOCUS_EXPORT_RAW_COLUMNS
    usage_start_column = "ChargePeriodStart"
    uri_parameter = "focus_uri"
