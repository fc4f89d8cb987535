"""``aws.cur_load``: AWS CUR 2.0 files -> the org's raw table, streamed in batches.

The files (Parquet or gzip CSV, from ``uri``: a local file or directory; ``s3://`` and
``gs://`` are not done yet) are read ``batch_size`` rows at a time and appended to a
staging table with load jobs, so memory holds one batch, never the month. One MERGE
(procedures/cloud/aws/merge_cur_staging.sql) then replaces the window's usage days of
aws_cur_raw from the staging table, which is dropped afterwards.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import Field

from shared.adapters.sql_files import PROCEDURES_DIR, render_sql
from shared.cloud.aws_cur import cur_files, read_cur_batches
from shared.domain.cloud_billing import AWS_CUR_COLUMNS, AWS_RAW_COLUMNS, AWS_RAW_TABLE
from shared.domain.errors import BadRequest, StepFailure
from shared.domain.sql import IDENTIFIER_RE, table_ref
from shared.processors.base import (
    ProcessorConfig,
    StepContext,
    StepResult,
    parse_config,
    register,
)

MERGE_SQL = PROCEDURES_DIR / "cloud" / "aws" / "merge_cur_staging.sql"


class AwsCurLoadConfig(ProcessorConfig):
    dataset: str = Field(pattern=IDENTIFIER_RE.pattern)
    uri: str | None = None  # or the run parameter cur_uri
    batch_size: int = Field(default=50_000, ge=100, le=500_000)


@register
class AwsCurLoad:
    ps_type: ClassVar[str] = "aws.cur_load"
    Config: ClassVar[type[ProcessorConfig]] = AwsCurLoadConfig

    def run(self, ctx: StepContext) -> StepResult:
        given: dict[str, Any] = dict(ctx.config)
        if ctx.run.parameters.get("cur_uri"):
            given["uri"] = ctx.run.parameters["cur_uri"]
        config = parse_config(AwsCurLoadConfig, given)
        if not config.uri:
            raise StepFailure("config.uri: no CUR location (step config or run parameter cur_uri)")
        try:
            files = cur_files(config.uri)
        except BadRequest as exc:
            raise StepFailure(f"config.uri: {exc.message}") from exc
        warehouse, dataset, key = ctx.warehouse, config.dataset, ctx.lineage_key
        warehouse.ensure_table(dataset, AWS_RAW_TABLE, AWS_RAW_COLUMNS)
        staging = "_stg_aws_cur_" + re.sub(r"[^A-Za-z0-9_]", "_", ctx.run.run_id)
        staged, batches = 0, 0
        try:
            for path in files:
                try:
                    for batch in read_cur_batches(path, config.batch_size):
                        if ctx.should_stop():
                            raise StepFailure("stopped while loading CUR batches", retryable=True)
                        warehouse.load_rows(
                            dataset, staging, AWS_CUR_COLUMNS, batch, replace=batches == 0
                        )
                        staged += len(batch)
                        batches += 1
                except BadRequest as exc:  # a bad row: name the file and row, write nothing
                    raise StepFailure(f"{path.name}: {exc.message}") from exc
            if batches == 0:
                warehouse.load_rows(dataset, staging, AWS_CUR_COLUMNS, [], replace=True)
            ctx.log(f"staged {staged} CUR rows from {len(files)} files in {batches} batches")
            warehouse.run_script(
                render_sql(
                    MERGE_SQL,
                    identifiers={
                        "project_id": warehouse.project_id,
                        "dataset": dataset,
                        "staging_table": staging,
                    },
                    identifier_lists={"columns": [c.name for c in AWS_CUR_COLUMNS]},
                    literals={
                        "org_slug": key.org_slug,
                        "pipeline_id": key.pipeline_id,
                        "credential_id": key.credential_id,
                        "run_id": ctx.run.run_id,
                        "start_date": key.start_date,
                        "end_date": key.end_date,
                    },
                )
            )
        finally:
            warehouse.run_script(
                f"DROP TABLE IF EXISTS {table_ref(warehouse.project_id, dataset, staging)}"
            )
        [written] = warehouse.query(
            f"SELECT COUNT(*) AS n FROM {table_ref(warehouse.project_id, dataset, AWS_RAW_TABLE)}"
            " WHERE x_org_slug = @org AND x_pipeline_id = @pipeline"
            " AND x_credential_id = @credential AND x_run_id = @run",
            {
                "org": key.org_slug,
                "pipeline": key.pipeline_id,
                "credential": key.credential_id,
                "run": ctx.run.run_id,
            },
        )
        return StepResult(
            rows_written=int(written["n"]),
            metrics={"files": len(files), "rows_staged": staged, "batches": batches},
        )
