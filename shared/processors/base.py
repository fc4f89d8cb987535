"""The processor contract and registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.domain.credentials import Credential
from shared.domain.errors import StepFailure
from shared.domain.models import Run
from shared.domain.row_accounting import RowTally
from shared.domain.sql import table_ref
from shared.ports import LineageKey, Warehouse


@dataclass(slots=True)
class StepContext:
    run: Run
    step_id: str
    config: Mapping[str, Any]  # the step's config, templates already resolved
    variables: Mapping[str, str]  # the template variables (org_dataset, project_id, ...)
    warehouse: Warehouse
    log: Callable[[str], None]
    should_stop: Callable[[], bool]  # True once the step timed out or the run was cancelled
    source_system: str
    # Decrypts the run's provider credential on demand: the key exists in clear only
    # inside the step that calls it.
    credential: Callable[[], Credential] = field(default=lambda: _no_credential())

    @property
    def lineage_key(self) -> LineageKey:
        return LineageKey(
            org_slug=self.run.org_slug,
            pipeline_id=self.run.pipeline_id,
            credential_id=self.run.credential_id,
            start_date=self.run.start_date,
            end_date=self.run.end_date,
        )

    def lineage(self, source_system: str) -> dict[str, Any]:
        """The x_* lineage every row this step writes carries (x_pipeline_run_date, the
        row's own day, is added per row: shared.domain.genai.with_lineage)."""
        ingested_at = datetime.now(UTC)
        return {
            "x_org_slug": self.run.org_slug,
            "x_pipeline_id": self.run.pipeline_id,
            "x_credential_id": self.run.credential_id,
            "x_run_id": self.run.run_id,
            "x_ingested_at": ingested_at,
            "x_ingestion_date": ingested_at.date(),
            "x_source_system": source_system,
        }

    def slice_literals(self) -> dict[str, Any]:
        """The run's slice as the SQL files' literals (org_slug ... end_date, run_id)."""
        key = self.lineage_key
        return {
            "org_slug": key.org_slug,
            "pipeline_id": key.pipeline_id,
            "credential_id": key.credential_id,
            "run_id": self.run.run_id,
            "start_date": key.start_date,
            "end_date": key.end_date,
        }


def rows_of_run_by_day(ctx: StepContext, dataset: str, table: str) -> dict[date, int]:
    """The rows this run wrote to ``table`` (a raw table with lineage), per usage day."""
    key = ctx.lineage_key
    days = ctx.warehouse.query(
        "SELECT x_pipeline_run_date AS day, COUNT(*) AS n"
        f" FROM {table_ref(ctx.warehouse.project_id, dataset, table)}"
        " WHERE x_org_slug = @org AND x_pipeline_id = @pipeline"
        " AND x_credential_id = @credential AND x_run_id = @run"
        " GROUP BY day ORDER BY day",
        {
            "org": key.org_slug,
            "pipeline": key.pipeline_id,
            "credential": key.credential_id,
            "run": ctx.run.run_id,
        },
    )
    return {d["day"]: int(d["n"]) for d in days}


def load_result(
    ctx: StepContext, tally: RowTally, written: int, metrics: dict[str, Any], nothing_read: str
) -> StepResult:
    """A load's result: the days it counted out logged, and a warning (logged and in the
    metrics) when it wrote nothing, so a run that read rows and wrote none says so."""
    if outside := tally.outside_summary():
        ctx.log(f"counted out: {outside}")
    if not written:
        metrics["warning"] = tally.all_outside_warning() if outside else nothing_read
        ctx.log(f"warning: {metrics['warning']}")
    return StepResult(rows_written=written, metrics=metrics)


def _no_credential() -> Credential:
    raise StepFailure("this step has no provider credential", retryable=False)


@dataclass(slots=True)
class StepResult:
    rows_written: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)


class ProcessorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# What a processor does to a run: "extract" (the default) reads a source into raw
# tables; "transform" builds from them. A run enters PROCESSING when its first transform
# step starts (the product's lifecycle: running -> processing -> completed).
Phase = Literal["extract", "transform"]


def phase_of(processor: Processor) -> Phase:
    phase: Phase = getattr(processor, "phase", "extract")
    return phase


class Processor(Protocol):
    ps_type: ClassVar[str]
    Config: ClassVar[type[ProcessorConfig]]

    def run(self, ctx: StepContext) -> StepResult: ...


PROCESSORS: dict[str, Processor] = {}
P = TypeVar("P", bound=Processor)
C = TypeVar("C", bound=ProcessorConfig)


def register(cls: type[P]) -> type[P]:
    PROCESSORS[cls.ps_type] = cls()
    return cls


def parse_config(model: type[C], config: Mapping[str, Any]) -> C:
    """Validate a step's resolved config; a bad one fails the step, not retried."""
    try:
        return model.model_validate(config)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        raise StepFailure(f"config.{where}: {first['msg']}", retryable=False) from exc
