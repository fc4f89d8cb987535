"""``generic.procedure_executor``: (re)create a stored procedure from procedures/ and CALL it.

The procedure is created (CREATE OR REPLACE) in the org's dataset from its SQL file,
identifiers validated, on every run -- so a changed file can never leave a stale
procedure behind -- then called with typed literal
arguments: BigQuery scripts cannot take query parameters on the emulator, and
production runs the same SQL.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.adapters.sql_files import PROCEDURES_DIR, render_sql
from shared.domain.errors import StepFailure
from shared.domain.sql import IDENTIFIER_RE, literal, table_ref
from shared.processors.base import (
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
    Config: ClassVar[type[ProcessorConfig]] = ProcedureConfig

    def run(self, ctx: StepContext) -> StepResult:
        config = parse_config(ProcedureConfig, ctx.config)
        warehouse = ctx.warehouse
        project = warehouse.project_id
        ctx.warehouse.run_script(
            render_sql(
                PROCEDURES_DIR / config.source,
                identifiers={"project_id": project, "dataset": config.dataset},
                literals={},
            )
        )
        args = ", ".join(arg.as_literal() for arg in config.args)
        ctx.log(f"CALL {config.dataset}.{config.procedure}")
        warehouse.run_script(f"CALL {table_ref(project, config.dataset, config.procedure)}({args})")
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
