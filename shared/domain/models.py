"""Records the state store keeps. Plain dataclasses: no I/O, easy to serialise."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from shared.domain.quota import QuotaLimits, SubscriptionStatus
from shared.domain.states import RunStatus, StepStatus


@dataclass(slots=True)
class Org:
    org_slug: str
    name: str
    status: SubscriptionStatus
    plan: str
    limits: QuotaLimits
    api_key_hash: str
    created_at: datetime


@dataclass(slots=True)
class StepRun:
    run_id: str
    step_id: str
    status: StepStatus = StepStatus.PENDING
    attempt: int = 0  # attempt currently claimed/finished; 0 = never started
    lease_until: datetime | None = None  # a claimed attempt is someone's until then
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    rows_written: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Run:
    run_id: str
    org_slug: str
    pipeline_ref: str  # provider/domain/pipeline, as in the URL
    pipeline_id: str
    provider: str
    status: RunStatus
    trigger: str  # api | cli | schedule | pubsub | backfill
    start_date: date
    end_date: date
    credential_id: str
    parameters: dict[str, Any]
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    steps: dict[str, StepRun] = field(default_factory=dict)

    @property
    def progress(self) -> float:
        """The share of its steps that finished (any terminal state), 0.0 to 1.0."""
        if not self.steps:
            return 1.0 if self.status.terminal else 0.0
        done = sum(1 for s in self.steps.values() if s.status.terminal)
        return round(done / len(self.steps), 4)

    @property
    def records_processed(self) -> int:
        """The rows the run's steps wrote."""
        return sum(s.rows_written for s in self.steps.values())

    def to_public(self) -> dict[str, Any]:
        """The run as the API shows it (no secrets are ever stored on it): the fields the
        product's clients read (CLIENT_CONTRACT.md: PipelineRun, PipelineRunStatus) and
        this API's own (pipeline_ref, finished_at, error, steps, ...)."""
        _, domain, pipeline = self.pipeline_ref.split("/")
        return {
            "run_id": self.run_id,
            "org_slug": self.org_slug,
            "provider": self.provider,
            "domain": domain,
            "pipeline": pipeline,
            "pipeline_ref": self.pipeline_ref,
            "pipeline_id": self.pipeline_id,
            "status": self.status.value,
            "progress": self.progress,
            "records_processed": self.records_processed,
            "error_message": self.error,
            "completed_at": _iso(self.finished_at),
            "trigger": self.trigger,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "credential_id": self.credential_id,
            "parameters": self.parameters,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "error": self.error,
            "warnings": step_warnings(self.steps.values()),
            "steps": [
                {
                    "step_id": s.step_id,
                    "status": s.status.value,
                    "attempt": s.attempt,
                    "started_at": _iso(s.started_at),
                    "finished_at": _iso(s.finished_at),
                    "error": s.error,
                    "rows_written": s.rows_written,
                    "metrics": s.metrics,
                }
                for s in self.steps.values()
            ],
        }


@dataclass(frozen=True, slots=True)
class Transition:
    run_id: str
    step_id: str | None  # None = the run itself
    from_status: str | None
    to_status: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LogEntry:
    run_id: str
    step_id: str | None
    level: str
    message: str
    at: datetime


def step_warnings(steps: Iterable[StepRun]) -> list[str]:
    """What steps flagged without failing (their metrics' ``warning``), as 'step: warning'."""
    return [f"{s.step_id}: {s.metrics['warning']}" for s in steps if s.metrics.get("warning")]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
