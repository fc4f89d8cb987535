"""``cloud.focus_convert``: a provider's raw billing rows -> FOCUS 1.3, then reconcile.

Per provider, two procedures, each created from its file in procedures/cloud/{provider}/
(which names the fragments it includes, so ``procedures sync`` deploys the very same SQL):
``sp_cloud_1_convert_to_focus_{provider}`` converts the run's raw rows into
cost_data_standard_1_3_staging, and ``sp_cloud_2_reconcile_{provider}`` (the shared
procedures/cloud/sp_cloud_2_reconcile.sql with the provider's source-totals fragment) writes
source and FOCUS totals (BilledCost, EffectiveCost) per day and billing currency of those
staged rows to cloud_cost_reconciliation. Like every procedure a step calls, each is
re-created only when the body recorded as deployed differs from its file's
(shared.handlers.procedures.call_current). Only when every day agrees within a cent does
procedures/cloud/publish_focus_slice.sql replace the run's days of cost_data_standard_1_3
with the staged rows (one transaction); otherwise the staged rows are discarded, the FOCUS
table keeps what it had, and the step fails, not retried, naming both figures. The totals
stay in cloud_cost_reconciliation either way (and are the step's metrics on success).
Before the calls the ServiceCategory mappings (configs/system/mappings) are loaded for the
SQL to join."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.adapters.bigquery.sql_files import PROCEDURES_DIR, render_sql
from shared.config.service_map import load_service_mappings
from shared.domain.cloud_billing import (
    RECONCILIATION_COLUMNS,
    RECONCILIATION_TABLE,
    SERVICE_MAP_COLUMNS,
    SERVICE_MAP_TABLE,
)
from shared.domain.errors import StepFailure
from shared.domain.focus import COST_TABLE, COST_TABLE_COLUMNS
from shared.domain.sql import IDENTIFIER_RE, literal, table_ref
from shared.handlers.procedures import ProcedureFile, call_current, procedure_file
from shared.handlers.reconciliation import describe_mismatch, reconciliation_rows
from shared.processors.base import (
    Phase,
    ProcessorConfig,
    StepContext,
    StepResult,
    parse_config,
    register,
)

# focus_export: a provider's own FOCUS export (shared.processors.billing_file_load), whose
# source system is the pipeline's provider.
Provider = Literal["gcp", "aws", "azure", "oci", "focus_export"]

# Converted rows wait here, per run (x_run_id), until they reconcile.
STAGING_TABLE = f"{COST_TABLE}_staging"
CLOUD_SQL = PROCEDURES_DIR / "cloud"


class CloudFocusConfig(ProcessorConfig):
    provider: Provider
    dataset: str = Field(pattern=IDENTIFIER_RE.pattern)


@register
class CloudFocusConvert:
    ps_type: ClassVar[str] = "cloud.focus_convert"
    phase: ClassVar[Phase] = "transform"
    Config: ClassVar[type[ProcessorConfig]] = CloudFocusConfig

    def run(self, ctx: StepContext) -> StepResult:
        config = parse_config(CloudFocusConfig, ctx.config)
        warehouse, dataset, provider = ctx.warehouse, config.dataset, config.provider
        warehouse.ensure_table(dataset, COST_TABLE, COST_TABLE_COLUMNS)
        warehouse.ensure_table(dataset, STAGING_TABLE, COST_TABLE_COLUMNS)
        warehouse.ensure_table(dataset, RECONCILIATION_TABLE, RECONCILIATION_COLUMNS)
        warehouse.load_rows(
            dataset, SERVICE_MAP_TABLE, SERVICE_MAP_COLUMNS, load_service_mappings()
        )

        key, run_id = ctx.lineage_key, ctx.run.run_id
        names = {"project_id": warehouse.project_id, "dataset": dataset}
        # Each procedure file names its fragments (the shared signature and argument check,
        # the staging reset, ...): what runs here is what `procedures sync` deploys.
        convert = procedure_file(f"cloud/{provider}/sp_cloud_1_convert_to_focus_{provider}.sql")
        reconcile = procedure_file(f"cloud/{provider}/sp_cloud_2_reconcile_{provider}.sql")
        # The conversion writes only this run's staged rows: no transaction needed (and none
        # wanted: the emulator would snapshot the staging table for it).
        call_current(warehouse, dataset, convert, self._call(ctx, dataset, convert), ctx.log)
        # The reconciliation replaces its slice with DELETE + INSERT: one transaction.
        call_current(
            warehouse,
            dataset,
            reconcile,
            f"BEGIN TRANSACTION;\n{self._call(ctx, dataset, reconcile)}\nCOMMIT TRANSACTION;",
            ctx.log,
        )

        rows = reconciliation_rows(warehouse, dataset, key.org_slug, run_id=run_id)
        metrics = {
            "reconciliation": [
                {
                    "day": str(r["day"]),
                    "currency": r["currency"],
                    "source_billed_cost": str(r["source_billed_cost"]),
                    "focus_billed_cost": str(r["focus_billed_cost"]),
                    "source_effective_cost": str(r["source_effective_cost"]),
                    "focus_effective_cost": str(r["focus_effective_cost"]),
                }
                for r in rows
            ]
        }
        bad = [r for r in rows if not r["ok"]]
        slice_values = {
            "org_slug": key.org_slug,
            "pipeline_id": key.pipeline_id,
            "credential_id": key.credential_id,
            "run_id": run_id,
        }
        if bad:
            warehouse.run_script(
                render_sql(
                    CLOUD_SQL / "discard_focus_staging.sql",
                    identifiers=names,
                    literals=slice_values,
                )
            )
            shown = "; ".join(describe_mismatch(r) for r in bad[:5])
            raise StepFailure(
                f"{provider} FOCUS totals do not reconcile with the source on {len(bad)} "
                f"day/currency pairs (tolerance one cent): {shown}",
                retryable=False,
            )
        ctx.log(f"publish the staged rows to {dataset}.{COST_TABLE}")
        warehouse.run_script(
            render_sql(
                CLOUD_SQL / "publish_focus_slice.sql",
                identifiers=names,
                identifier_lists={"columns": [c.name for c in COST_TABLE_COLUMNS]},
                literals={**slice_values, "start_date": key.start_date, "end_date": key.end_date},
            )
        )
        focus_rows = sum(int(r["focus_rows"]) for r in rows)
        ctx.log(f"{focus_rows} FOCUS rows; {len(rows)} day/currency totals reconcile")
        return StepResult(rows_written=focus_rows, metrics=metrics)

    @staticmethod
    def _call(ctx: StepContext, dataset: str, procedure: ProcedureFile) -> str:
        """CALL the procedure with the run's lineage slice (typed literals)."""
        key = ctx.lineage_key
        values = (
            key.org_slug,
            key.start_date,
            key.end_date,
            key.pipeline_id,
            key.credential_id,
            ctx.run.run_id,
        )
        ref = table_ref(ctx.warehouse.project_id, dataset, procedure.name)
        return f"CALL {ref}({', '.join(literal(v) for v in values)});"
