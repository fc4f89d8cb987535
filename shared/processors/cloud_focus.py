"""``cloud.focus_convert``: a provider's raw billing rows -> FOCUS 1.3, reconciled.

Per provider, two procedures, each created from its file in procedures/cloud/{provider}/
(which names the fragments it includes, so ``procedures sync`` deploys the very same SQL):
``sp_cloud_1_convert_to_focus_{provider}`` replaces the run's days of the org's
cost_data_standard_1_3 (its window, and for GCP the earlier days late rows reopened) with
the converted rows, and ``sp_cloud_2_reconcile_{provider}`` (the shared
procedures/cloud/sp_cloud_2_reconcile.sql with the provider's source-totals fragment) writes
source and FOCUS totals (BilledCost, EffectiveCost) per day and billing currency of those
rows to cloud_cost_reconciliation. Like every procedure a step calls, each is re-created
only when the body recorded as deployed differs from its file's
(shared.handlers.procedures.call_current). The step CALLs both in ONE transaction that
ends with procedures/cloud/assert_reconciled.sql: a day off by more than a cent fails the
script, so the transaction rolls back, the FOCUS table and the reconciliation keep what
they had, and the step fails, not retried, naming both figures. The rows are written once,
straight into the FOCUS table (a staging copy and a second copy into the table cost twice
the writes, bench/focus_conversion.py). On success the totals are the step's metrics.
Before the calls the ServiceCategory mappings (configs/system/mappings) are loaded for the
SQL to join."""

from __future__ import annotations

import re
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
from shared.domain.errors import BadRequest, StepFailure
from shared.domain.focus import COST_TABLE, COST_TABLE_COLUMNS
from shared.domain.sql import IDENTIFIER_RE, literal, table_ref
from shared.handlers.procedures import ProcedureFile, call_current, procedure_file
from shared.handlers.reconciliation import TOLERANCE, reconciliation_rows
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

CLOUD_SQL = PROCEDURES_DIR / "cloud"
# how assert_reconciled.sql's error message goes on after the provider
NOT_RECONCILED = "FOCUS totals do not reconcile with the source"
# what BigQuery (", at [l:c]") and the emulator ("; reason: ...") append to an ERROR() text
_WAREHOUSE_SUFFIX = re.compile(r"(; reason: .*|,? at \[\d+:\d+\])$", re.DOTALL)


def _own_words(message: str) -> str:
    return _WAREHOUSE_SUFFIX.sub("", message.strip())


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
        warehouse.ensure_table(dataset, RECONCILIATION_TABLE, RECONCILIATION_COLUMNS)
        warehouse.load_rows(
            dataset, SERVICE_MAP_TABLE, SERVICE_MAP_COLUMNS, load_service_mappings()
        )

        key, run_id = ctx.lineage_key, ctx.run.run_id
        # Each procedure file names its fragments (the shared signature and argument check,
        # the slice replace, ...): what runs here is what `procedures sync` deploys.
        convert = procedure_file(f"cloud/{provider}/sp_cloud_1_convert_to_focus_{provider}.sql")
        reconcile = procedure_file(f"cloud/{provider}/sp_cloud_2_reconcile_{provider}.sql")
        check = render_sql(
            CLOUD_SQL / "assert_reconciled.sql",
            identifiers={"project_id": warehouse.project_id, "dataset": dataset},
            literals={
                "provider": provider,
                "tolerance": TOLERANCE,
                "org_slug": key.org_slug,
                "pipeline_id": key.pipeline_id,
                "credential_id": key.credential_id,
                "run_id": run_id,
            },
        )
        calls = [self._call(ctx, dataset, convert), self._call(ctx, dataset, reconcile)]
        try:
            call_current(warehouse, dataset, (convert, reconcile), [*calls, check], ctx.log)
        except BadRequest as exc:
            # assert_reconciled.sql's ERROR(): the warehouse wraps it in its own words
            found = exc.message.find(f"{provider} {NOT_RECONCILED}")
            if found < 0:
                raise
            raise StepFailure(_own_words(exc.message[found:]), retryable=False) from exc

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
