"""``generic.procedure_executor``: make sure a procedure from procedures/ is current, CALL it.

The procedure is (re)created in the org's dataset from its SQL file only when the body
recorded as deployed (shared.handlers.procedures, the same check ``procedures sync`` uses)
differs from the file's rendered SQL -- so a changed file never leaves a stale procedure
behind, and an unchanged one is not re-created on every run. A procedure dropped by hand
is re-created when its CALL reports it missing. It is called with typed literal arguments:
BigQuery scripts cannot take query parameters on the emulator, and production runs the
same SQL. The CALL runs as one transaction (``call_current``): the procedures replace
their slice with a DELETE then an INSERT (procedures/common/slice_filter.sql), so a failure
after the DELETE rolls it back, the table keeps the slice it had and readers never see it
half replaced (a procedure body cannot open the transaction itself on the emulator).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.adapters.bigquery.sql_files import PROCEDURES_DIR
from shared.config.tables import ORG_TABLES
from shared.domain.errors import BadRequest, StepFailure
from shared.domain.sql import IDENTIFIER_RE, literal, table_ref
from shared.handlers.procedures import call_current, procedure_file
from shared.processors.base import (
    Phase,
    ProcessorConfig,
    StepContext,
    StepResult,
    parse_config,
    register,
)

ArgType = Literal["STRING", "DATE", "INT64", "NUMERIC", "BOOL"]


class ProcedureArg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=IDENTIFIER_RE.pattern)
    type: ArgType = "STRING"
    value: str

    def as_literal(self) -> str:
        try:
            match self.type:
                case "STRING":
                    return literal(self.value)
                case "DATE":
                    return literal(date.fromisoformat(self.value))
                case "INT64":
                    return literal(int(self.value))
                case "NUMERIC":
                    return literal(Decimal(self.value))
                case "BOOL":
                    return literal(self.value.lower() in ("1", "true", "yes"))
        except (ValueError, InvalidOperation) as exc:
            raise StepFailure(f"config.args.{self.name}: not a valid {self.type}: {exc}") from exc


class ProcedureConfig(ProcessorConfig):
    procedure: str = Field(pattern=IDENTIFIER_RE.pattern)
    source: str  # path of the .sql file under procedures/
    dataset: str = Field(pattern=IDENTIFIER_RE.pattern)
    args: list[ProcedureArg] = []
    count_rows_in: str | None = Field(default=None, pattern=IDENTIFIER_RE.pattern)

    @field_validator("source")
    @classmethod
    def _inside_procedures(cls, value: str) -> str:
        path = (PROCEDURES_DIR / value).resolve()
        if path.suffix != ".sql" or PROCEDURES_DIR not in path.parents:
            raise ValueError("must be a .sql file under procedures/")
        if not path.is_file():
            raise ValueError(f"procedures/{value} does not exist")
        return value


@register
class ProcedureExecutor:
    ps_type: ClassVar[str] = "generic.procedure_executor"
    phase: ClassVar[Phase] = "transform"
    Config: ClassVar[type[ProcessorConfig]] = ProcedureConfig

    def run(self, ctx: StepContext) -> StepResult:
        config = parse_config(ProcedureConfig, ctx.config)
        warehouse = ctx.warehouse
        project = warehouse.project_id
        try:
            procedure = procedure_file(config.source)
        except BadRequest as exc:
            raise StepFailure(f"config.source: {exc.message}") from exc
        if procedure.name != config.procedure:
            raise StepFailure(
                f"config.procedure: procedures/{config.source} creates {procedure.name}, "
                f"not {config.procedure}"
            )
        if config.count_rows_in in ORG_TABLES:
            # the table it writes as this release declares it: a column a newer release
            # added (x_ingestion_date) is added before the procedure's INSERT names it
            warehouse.ensure_table(
                config.dataset, config.count_rows_in, ORG_TABLES[config.count_rows_in]
            )
        args = ", ".join(arg.as_literal() for arg in config.args)
        call = f"CALL {table_ref(project, config.dataset, config.procedure)}({args});"
        call_current(warehouse, config.dataset, procedure, [call], ctx.log)
        if config.count_rows_in is None:
            return StepResult()
        key = ctx.lineage_key
        rows = warehouse.query(
            f"SELECT COUNT(*) AS n FROM {table_ref(project, config.dataset, config.count_rows_in)} "
            "WHERE x_org_slug = @org AND x_pipeline_id = @pipeline "
            "AND x_credential_id = @credential AND x_pipeline_run_date BETWEEN @start AND @end",
            {
                "org": key.org_slug,
                "pipeline": key.pipeline_id,
                "credential": key.credential_id,
                "start": key.start_date,
                "end": key.end_date,
            },
        )
        return StepResult(rows_written=int(rows[0]["n"]), metrics={"table": config.count_rows_in})
