"""Schedules and backfills: plain records and the pure arithmetic around them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from croniter import croniter

from shared.domain.errors import BadRequest

# Namespace for ids derived from their cause, so a repeated cause gives the same run.
_RUN_NS = uuid.UUID("6f1c1f0e-3d4b-4f8e-9a59-0e5b3c2d7a10")


class FireStatus(StrEnum):
    QUEUED = "queued"  # claimed, not dispatched yet (or to be retried: quota was full)
    DISPATCHED = "dispatched"
    FAILED = "failed"  # refused for good (subscription, pipeline gone, bad parameters)


@dataclass(slots=True)
class Schedule:
    schedule_id: str
    org_slug: str
    pipeline_ref: str  # provider/domain/pipeline
    cron: str
    enabled: bool
    parameters: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    next_fire_at: datetime | None  # None while disabled
    last_fire_at: datetime | None = None
    last_run_id: str | None = None

    def to_public(self, provider: str | None = None) -> dict[str, Any]:
        """The schedule as the API shows it: the product's clients' PipelineSchedule fields
        (CLIENT_CONTRACT.md) and this API's own. ``provider``: the vendor (the credential's
        provider) when the caller knows it; else the path's."""
        path_provider, domain, pipeline = self.pipeline_ref.split("/")
        return {
            "schedule_id": self.schedule_id,
            "org_slug": self.org_slug,
            "provider": provider or path_provider,
            "domain": domain,
            "pipeline": pipeline,
            "pipeline_ref": self.pipeline_ref,
            "cron_expression": self.cron,
            "is_enabled": self.enabled,
            "last_run_at": _iso(self.last_fire_at),
            "next_run_at": _iso(self.next_fire_at),
            "cron": self.cron,
            "enabled": self.enabled,
            "parameters": self.parameters,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "next_fire_at": _iso(self.next_fire_at),
            "last_fire_at": _iso(self.last_fire_at),
            "last_run_id": self.last_run_id,
        }


@dataclass(slots=True)
class ScheduleFire:
    """One firing of a schedule: (schedule_id, fire_time) is claimed exactly once."""

    schedule_id: str
    fire_time: datetime
    org_slug: str
    pipeline_ref: str
    run_id: str
    status: FireStatus
    attempts: int
    error: str | None
    created_at: datetime
    updated_at: datetime

    def to_public(self) -> dict[str, Any]:
        return {
            "schedule_id": self.schedule_id,
            "fire_time": self.fire_time.isoformat(),
            "org_slug": self.org_slug,
            "pipeline": self.pipeline_ref,
            "run_id": self.run_id,
            "status": self.status.value,
            "attempts": self.attempts,
            "error": self.error,
        }


class ReprocessPolicy(StrEnum):
    NONE = "none"  # skip days that already completed
    FAILED = "failed"  # only redo days whose latest run failed or was cancelled
    ALL = "all"


@dataclass(slots=True)
class Backfill:
    backfill_id: str
    org_slug: str
    pipeline_ref: str
    start_date: date
    end_date: date
    policy: ReprocessPolicy
    max_concurrent: int
    parameters: dict[str, Any]
    created_at: datetime
    days: dict[date, str | None] = field(default_factory=dict)  # day -> run id (None: to do)
    skipped: list[date] = field(default_factory=list)  # left out by the policy


def validate_cron(cron: Any, field_name: str = "cron") -> str:
    if not isinstance(cron, str) or len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise BadRequest(
            f"{field_name} must be a 5-field cron expression "
            "(minute hour day-of-month month day-of-week)",
            field=field_name,
        )
    return cron


def next_fire(cron: str, after: datetime) -> datetime:
    """The first fire time strictly after ``after`` (UTC)."""
    value: datetime = croniter(cron, after.astimezone(UTC)).get_next(datetime)
    return value.astimezone(UTC)


def derived_run_id(*cause: str) -> str:
    """A run id determined by its cause: dispatching the same cause twice is one run."""
    return str(uuid.uuid5(_RUN_NS, "|".join(cause)))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
