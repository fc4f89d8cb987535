"""``gcp.bq_etl``: copy days of an org's GCP billing export into its raw table, in BigQuery.

The export lives in the customer's project/dataset (``source_project``, ``source_dataset``,
``source_table``). Each part comes from the run's parameters of the same names (a backfill
over another table), else from the org's credential (metadata ``billing_export_table`` =
``project.dataset.table``, stored with ``pipelines credentials set ORG gcp
--billing-export-table``), else from the step config. The warehouse's own client reads it,
so the service account needs read access to that dataset. The copy is one script, a DELETE
and an INSERT of the replaced days in one transaction
(procedures/cloud/gcp/extract_billing_export.sql): no row passes through Python.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal

from pydantic import Field

from shared.adapters.bigquery.sql_files import PROCEDURES_DIR, render_sql
from shared.domain.cloud_billing import EXPORT_SCHEMAS, GCP_RAW_COLUMNS, GCP_RAW_TABLE
from shared.domain.credentials import split_table
from shared.domain.errors import BadRequest, StepFailure
from shared.domain.sql import IDENTIFIER_RE, PROJECT_ID_RE
from shared.handlers.credentials import INTERNAL_CREDENTIAL
from shared.processors.base import (
    ProcessorConfig,
    StepContext,
    StepResult,
    parse_config,
    register,
    rows_of_run_by_day,
)

EXTRACT_SQL = PROCEDURES_DIR / "cloud" / "gcp" / "extract_billing_export.sql"
SOURCE_FIELDS = ("source_project", "source_dataset", "source_table", "export_schema")
TABLE_FIELDS = ("source_project", "source_dataset", "source_table")


class GcpBqEtlConfig(ProcessorConfig):
    dataset: str = Field(pattern=IDENTIFIER_RE.pattern)
    source_project: str | None = Field(default=None, pattern=PROJECT_ID_RE.pattern)
    source_dataset: str | None = Field(default=None, pattern=IDENTIFIER_RE.pattern)
    source_table: str | None = Field(default=None, pattern=IDENTIFIER_RE.pattern)
    export_schema: Literal["standard", "detailed"] = "detailed"
    # How far before the window a late-exported row may reopen a usage day.
    late_days: int = Field(default=62, ge=0, le=400)


@register
class GcpBqEtl:
    ps_type: ClassVar[str] = "gcp.bq_etl"
    Config: ClassVar[type[ProcessorConfig]] = GcpBqEtlConfig

    def run(self, ctx: StepContext) -> StepResult:
        given: dict[str, Any] = dict(ctx.config)
        parameters = {k: v for k, v in ctx.run.parameters.items() if k in SOURCE_FIELDS and v}
        if not all(parameters.get(k) for k in TABLE_FIELDS):
            given.update(self._credential_table(ctx))
        given.update(parameters)
        config = parse_config(GcpBqEtlConfig, given)
        project, dataset, table = config.source_project, config.source_dataset, config.source_table
        if not (project and dataset and table):
            raise StepFailure(
                "config.source_project/source_dataset/source_table: the billing export table "
                "is not named (the org's credential billing_export_table, run parameters or "
                "step config)",
                retryable=False,
            )
        refuse_other_org_dataset(ctx, config)
        source = f"{project}.{dataset}.{table}"
        ctx.log(f"extracting {source} ({config.export_schema} export) {ctx.run.start_date}..")
        days = copy_export_days(
            ctx, config.dataset, (project, dataset, table), config.export_schema, config.late_days
        )
        key = ctx.lineage_key
        late = [str(d) for d in days if not key.start_date <= d <= key.end_date]
        return StepResult(
            rows_written=sum(days.values()),
            metrics={
                "source_table": source,
                "export_schema": config.export_schema,
                "days_extracted": len(days),
                "late_days_reopened": late,
            },
        )

    @staticmethod
    def _credential_table(ctx: StepContext) -> dict[str, str]:
        """source_project/dataset/table from the org's credential, if it names the export."""
        if ctx.run.credential_id == INTERNAL_CREDENTIAL:
            return {}
        table = ctx.credential().billing_export_table
        if not table:
            return {}
        # Validated when stored; checked again as it goes into SQL identifiers.
        try:
            return dict(zip(TABLE_FIELDS, split_table(table), strict=True))
        except BadRequest as exc:
            raise StepFailure(f"the org's gcp credential: {exc.message}") from exc


def refuse_other_org_dataset(ctx: StepContext, config: GcpBqEtlConfig) -> None:
    """Run parameters name the export, and the warehouse's own client reads it: in the
    service's own project, where every org has its ``{org}_{env}`` dataset, a name of that
    form other than the org's own would copy another tenant's rows into this org."""
    org, own = ctx.run.org_slug, config.dataset
    if config.source_project != ctx.warehouse.project_id or not own.startswith(f"{org}_"):
        return
    env = own[len(org) + 1 :]
    if config.source_dataset != own and str(config.source_dataset).endswith(f"_{env}"):
        raise StepFailure(
            f"source_dataset {config.source_dataset} is another organization's dataset in the "
            "service's project: name the org's own billing export",
            retryable=False,
        )


def copy_export_days(
    ctx: StepContext,
    dataset: str,
    source: tuple[str, str, str],
    export_schema: str,
    late_days: int,
) -> dict[date, int]:
    """Copy the window's usage days (and those late rows reopen) of the export table
    ``source`` (project, dataset, table) into the org's raw table: the rows written per
    usage day."""
    warehouse = ctx.warehouse
    warehouse.ensure_table(dataset, GCP_RAW_TABLE, GCP_RAW_COLUMNS)
    source_project, source_dataset, source_table = source
    script = render_sql(
        EXTRACT_SQL,
        identifiers={
            "project_id": warehouse.project_id,
            "dataset": dataset,
            "source_project_id": source_project,
            "source_dataset": source_dataset,
            "source_table": source_table,
        },
        identifier_lists={"columns": [c.name for c in EXPORT_SCHEMAS[export_schema]]},
        literals={**ctx.slice_literals(), "late_days": late_days},
    )
    warehouse.run_script(script)
    return rows_of_run_by_day(ctx, dataset, GCP_RAW_TABLE)
