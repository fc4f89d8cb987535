"""Processors used only by tests: they record what ran and fail on demand."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import ClassVar

from shared.domain.errors import StepFailure
from shared.processors.base import ProcessorConfig, StepContext, StepResult, parse_config, register


class RecordConfig(ProcessorConfig):
    fail_times: int = 0  # fail this many attempts (retryable) before succeeding
    fail_permanently: bool = False
    sleep_seconds: float = 0.0
    label: str = ""


@register
class RecordingProcessor:
    """Appends (run_id, step_id) to ``calls``; optionally fails or sleeps."""

    ps_type: ClassVar[str] = "test.record"
    Config: ClassVar[type[ProcessorConfig]] = RecordConfig
    calls: ClassVar[list[tuple[str, str, str]]] = []
    attempts: ClassVar[Counter[tuple[str, str]]] = Counter()
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def run(self, ctx: StepContext) -> StepResult:
        config = parse_config(RecordConfig, ctx.config)
        key = (ctx.run.run_id, ctx.step_id)
        with self._lock:
            self.attempts[key] += 1
            attempt = self.attempts[key]
        if config.sleep_seconds:
            deadline = time.monotonic() + config.sleep_seconds
            while time.monotonic() < deadline and not ctx.should_stop():
                time.sleep(0.01)
        if config.fail_permanently:
            raise StepFailure(f"{ctx.step_id} failed on purpose", retryable=False)
        if attempt <= config.fail_times:
            raise StepFailure(f"{ctx.step_id} transient failure {attempt}", retryable=True)
        with self._lock:
            self.calls.append((ctx.run.run_id, ctx.step_id, config.label))
        return StepResult(rows_written=1, metrics={"attempt": attempt})

    @classmethod
    def steps_run(cls, run_id: str) -> list[str]:
        with cls._lock:
            return [step for rid, step, _ in cls.calls if rid == run_id]


@register
class TransformRecordingProcessor(RecordingProcessor):
    """test.record in the transform phase: a run enters PROCESSING when it starts."""

    ps_type: ClassVar[str] = "test.transform"
    phase: ClassVar[str] = "transform"
