"""``cloud.focus_convert``: a provider's raw billing rows -> FOCUS 1.3, then reconcile.

Per provider, two procedures under procedures/cloud/{provider}/:
``sp_cloud_1_convert_to_focus_{provider}`` replaces the run's days of
cost_data_standard_1_3, and ``sp_cloud_2_reconcile_{provider}`` writes source and FOCUS
totals (BilledCost, EffectiveCost) per day and billing currency to
cloud_cost_reconciliation. The step records those totals in its metrics and fails, not
retried, when any day differs by more than a cent, naming both figures. Before the call the
ServiceCategory mappings (configs/system/mappings) are loaded for the SQL to join.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.adapters.sql_files import PROCEDURES_DIR, render_sql
from shared.cloud.reconciliation import describe_mismatch, reconciliation_rows
from shared.cloud.service_map import load_service_mappings
from shared.domain.cloud_billing import (
    RECONCILIATION_COLUMNS,
    RECONCILIATION_TABLE,
    SERVICE_MAP_COLUMNS,
    SERVICE_MAP_TABLE,
)
from shared.domain.errors import StepFailure
from shared.domain.focus import COST_TABLE, COST_TABLE_COLUMNS
from shared.domain.sql import IDENTIFIER_RE, literal, table_ref
from shared.processors.base import (
    ProcessorConfig,
    StepContext,
    StepResult,
    parse_config,
    register,
)

Provider = Literal["gcp", "aws", "azure", "oci"]


class CloudFocusConfig(ProcessorConfig):
    provider: Provider
    dataset: str = Field(pattern=IDENTIFIER_RE.pattern)


@register
class CloudFocusConvert:
    ps_type: ClassVar[str] = "cloud.focus_convert"
    Config: ClassVar[type[ProcessorConfig]] = CloudFocusConfig

    def run(self, ctx: StepContext) -> StepResult:
        config = parse_config(CloudFocusConfig, ctx.config)
        warehouse, dataset, provider = ctx.warehouse, config.dataset, config.provider
        warehouse.ensure_table(dataset, COST_TABLE, COST_TABLE_COLUMNS)
        warehouse.ensure_table(dataset, RECONCILIATION_TABLE, RECONCILIATION_COLUMNS)
        warehouse.load_rows(
            dataset, SERVICE_MAP_TABLE, SERVICE_MAP_COLUMNS, load_service_mappings()
        )

        key, run_id = ctx.lineage_key, ctx.run.run_id
        args = ", ".join(
            literal(v)
            for v in (
                key.org_slug,
                key.start_date,
                key.end_date,
                key.pipeline_id,
                key.credential_id,
                run_id,
            )
        )
        for procedure in (
            f"sp_cloud_1_convert_to_focus_{provider}",
            f"sp_cloud_2_reconcile_{provider}",
        ):
            warehouse.run_script(
                render_sql(
                    PROCEDURES_DIR / "cloud" / provider / f"{procedure}.sql",
                    identifiers={"project_id": warehouse.project_id, "dataset": dataset},
                )
            )
            ctx.log(f"CALL {dataset}.{procedure}")
            # The procedures replace slices with DELETE + INSERT: one transaction per CALL.
            warehouse.run_script(
                "BEGIN TRANSACTION;\n"
                f"CALL {table_ref(warehouse.project_id, dataset, procedure)}({args});\n"
                "COMMIT TRANSACTION;"
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
        if bad:
            shown = "; ".join(describe_mismatch(r) for r in bad[:5])
            raise StepFailure(
                f"{provider} FOCUS totals do not reconcile with the source on {len(bad)} "
                f"day/currency pairs (tolerance one cent): {shown}",
                retryable=False,
            )
        focus_rows = sum(int(r["focus_rows"]) for r in rows)
        ctx.log(f"{focus_rows} FOCUS rows; {len(rows)} day/currency totals reconcile")
        return StepResult(rows_written=focus_rows, metrics=metrics)
