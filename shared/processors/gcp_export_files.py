"""``gcp.export_file_load``: GCP billing export rows a customer hands over as files.

``bq extract`` of a detailed or standard Cloud Billing export table writes Parquet, Avro or
newline-delimited JSON. Each file's layout is told from its header (top-level columns);
BigQuery itself reads the files (one load job each) into a staging table with the
export's schema, and the copy ``gcp.bq_etl`` makes of an export table then runs from it
(procedures/cloud/gcp/extract_billing_export.sql), so the conversion that follows is the
same. Every row loaded is accounted for: copied (the window's usage days and the days late
rows reopen), or counted out by day; a row without usage_start_time fails the step.
"""

from __future__ import annotations

import gzip
import json
import re
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import fastavro
import pyarrow.parquet as pq
from pydantic import Field

from shared.domain.billing_schemas import UnknownSchema, gcp_variants, plan_columns
from shared.domain.cloud_billing import (
    EXPORT_SCHEMAS,
    GCP_DETAILED_ONLY_COLUMNS,
    GCP_STANDARD_EXPORT_COLUMNS,
)
from shared.domain.errors import BadRequest, StepFailure
from shared.domain.row_accounting import RowTally
from shared.domain.sql import IDENTIFIER_RE, table_ref
from shared.ports import FileFormat
from shared.processors.base import (
    ProcessorConfig,
    StepContext,
    StepResult,
    load_result,
    parse_config,
    register,
)
from shared.processors.billing_file_load import open_billing_files
from shared.processors.gcp_bq_etl import copy_export_days

# File name ending -> the load job's source format.
FORMATS: dict[str, FileFormat] = {
    ".parquet": "PARQUET",
    ".avro": "AVRO",
    ".json": "NEWLINE_DELIMITED_JSON",
    ".jsonl": "NEWLINE_DELIMITED_JSON",
    ".ndjson": "NEWLINE_DELIMITED_JSON",
    ".json.gz": "NEWLINE_DELIMITED_JSON",
}
VARIANTS = gcp_variants(
    [c.name for c in GCP_STANDARD_EXPORT_COLUMNS],
    [c.name for c in GCP_DETAILED_ONLY_COLUMNS],
    ("usage_start_time", "cost", "currency"),
)
SCHEMA_OF = {VARIANTS[0].name: "detailed", VARIANTS[1].name: "standard"}


class GcpExportFilesConfig(ProcessorConfig):
    dataset: str = Field(pattern=IDENTIFIER_RE.pattern)
    uri: str | None = None  # or the run parameter export_uri
    late_days: int = Field(default=62, ge=0, le=400)
    s3_endpoint_url: str | None = Field(default=None, pattern=r"^https?://[^\s/@?#]+/?$")


@register
class GcpExportFileLoad:
    ps_type: ClassVar[str] = "gcp.export_file_load"
    Config: ClassVar[type[ProcessorConfig]] = GcpExportFilesConfig

    def run(self, ctx: StepContext) -> StepResult:
        given: dict[str, Any] = dict(ctx.config)
        if ctx.run.parameters.get("export_uri"):
            given["uri"] = ctx.run.parameters["export_uri"]
        config = parse_config(GcpExportFilesConfig, given)
        if not config.uri:
            raise StepFailure("config.uri: no export file location (step config or export_uri)")
        source, files = open_billing_files(ctx, config.uri, config.s3_endpoint_url, tuple(FORMATS))
        warehouse, dataset = ctx.warehouse, config.dataset
        staging = "_stg_gcp_export_files_" + re.sub(r"[^A-Za-z0-9_]", "_", ctx.run.run_id)
        layouts: dict[str, int] = {}
        schemas: set[str] = set()
        loaded = 0
        try:
            for index, obj in enumerate(files):
                if ctx.should_stop():
                    raise StepFailure("stopped while loading export files", retryable=True)
                try:
                    with source.local_file(obj) as path:
                        try:
                            variant = plan_columns(_header(path), VARIANTS, provider="GCP").variant
                        except UnknownSchema as exc:
                            raise StepFailure(f"{obj.uri}: {exc}") from exc
                        except BadRequest as exc:
                            raise StepFailure(f"{obj.uri}: {exc.message}") from exc
                        ctx.log(f"{obj.uri}: {variant}")
                        layouts[variant] = layouts.get(variant, 0) + 1
                        schemas.add(SCHEMA_OF[variant])
                        try:
                            # Always the detailed schema: a standard file leaves its extra
                            # columns null, so one staging table takes both kinds.
                            loaded += warehouse.load_file(
                                dataset,
                                staging,
                                EXPORT_SCHEMAS["detailed"],
                                path,
                                _format(path),
                                replace=index == 0,
                            )
                        except BadRequest as exc:  # BigQuery's own words on a bad row
                            raise StepFailure(f"{obj.uri}: {exc.message}") from exc
                except BadRequest as exc:  # the object could not be fetched (names its URI)
                    raise StepFailure(exc.message) from exc
            if len(schemas) > 1:
                raise StepFailure(
                    f"{config.uri}: both detailed and standard export files; a run reads one"
                    " export (their rows would be counted twice)"
                )
            ctx.log(f"loaded {loaded} rows from {len(files)} files")
            tally = self._tally(ctx, dataset, staging, loaded)
            export_schema = schemas.pop()
            days = copy_export_days(
                ctx,
                dataset,
                (warehouse.project_id, dataset, staging),
                export_schema,
                config.late_days,
            )
        finally:
            warehouse.run_script(
                f"DROP TABLE IF EXISTS {table_ref(warehouse.project_id, dataset, staging)}"
            )
        return self._result(ctx, tally, days, layouts, len(files), export_schema)

    @staticmethod
    def _tally(ctx: StepContext, dataset: str, staging: str, loaded: int) -> RowTally:
        """Every loaded row by its usage day; a row without one fails the step."""
        key = ctx.lineage_key
        counts = ctx.warehouse.query(
            "SELECT DATE(usage_start_time) AS day, COUNT(*) AS n"
            f" FROM {table_ref(ctx.warehouse.project_id, dataset, staging)} GROUP BY day"
        )
        tally = RowTally(key.start_date, key.end_date)
        for row in counts:
            tally.count(row["day"], staging, 0, rows=int(row["n"]))
        if tally.undated:
            raise StepFailure(
                f"{tally.undated} exported rows have no usage_start_time: a cost row needs"
                " its usage day; nothing was written"
            )
        if tally.read != loaded:
            raise StepFailure(f"loaded {loaded} rows but the staging table holds {tally.read}")
        return tally

    @staticmethod
    def _result(
        ctx: StepContext,
        tally: RowTally,
        days: dict[date, int],
        layouts: dict[str, int],
        files: int,
        export_schema: str,
    ) -> StepResult:
        # Late rows reopen earlier days: those rows are copied, not counted out.
        reopened = {d: n for d, n in tally.outside.items() if d in days}
        for day in reopened:
            del tally.outside[day]
        copied = tally.in_window + sum(reopened.values())
        written = sum(days.values())
        if written != copied:
            raise StepFailure(
                f"read {copied} rows of the days to copy but the raw table holds {written} of"
                " this run: rows were lost on the way; nothing is converted"
            )
        metrics: dict[str, Any] = {
            "files": files,
            "layouts": layouts,
            "export_schema": export_schema,
            **tally.metrics(),
            "rows_read": tally.read + sum(reopened.values()),
            "rows_in_reopened_days": sum(reopened.values()),
            "late_days_reopened": sorted(str(d) for d in reopened),
        }
        return load_result(ctx, tally, written, metrics, "the export files hold no rows")


def _format(path: Path) -> FileFormat:
    return next(f for suffix, f in FORMATS.items() if path.name.endswith(suffix))


def _header(path: Path) -> list[str]:
    """The file's top-level column names."""
    if path.name.endswith(".parquet"):
        return list(pq.ParquetFile(path).schema_arrow.names)
    if path.name.endswith(".avro"):
        with path.open("rb") as handle:
            schema: Any = fastavro.reader(handle).writer_schema
        return [f["name"] for f in schema["fields"]]
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as handle:  # newline-delimited JSON: the first row's keys
        first = handle.readline()
    try:
        row = json.loads(first) if first.strip() else {}
    except json.JSONDecodeError as exc:
        raise BadRequest(f"line 1: not JSON: {exc.msg}") from None
    return list(row) if isinstance(row, dict) else []
