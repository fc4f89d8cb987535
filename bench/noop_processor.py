"""The benchmark's own no-op processor (not a product processor): a step that does
nothing, so a run's wall time is pure orchestration. Imported by bench/orchestration.py
and, through PIPELINES_PROCESSOR_MODULES, by the function processes of the topology."""

from __future__ import annotations

from typing import ClassVar

from shared.processors.base import ProcessorConfig, StepContext, StepResult, register

NOOP = "bench.noop"


class NoopConfig(ProcessorConfig):
    pass


@register
class NoopProcessor:
    ps_type: ClassVar[str] = NOOP
    Config: ClassVar[type[ProcessorConfig]] = NoopConfig

    def run(self, ctx: StepContext) -> StepResult:
        return StepResult(rows_written=0, metrics={})
