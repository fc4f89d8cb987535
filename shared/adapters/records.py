"""Stored records <-> domain objects, written once for the SQLite and Firestore stores.

A SQLite row and a Firestore document hold the same fields under the same names. They
differ only in how a time and a nested value are held (ISO text and JSON text in SQLite,
native timestamps and maps in Firestore): a :class:`RecordFormat` says how, and every
mapper here reads or writes through it. Records are read as mappings (``dict(row)`` for
SQLite), so an optional field missing from an older document reads as None.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from shared.domain.models import LogEntry, Org, Run, StepRun, Transition
from shared.domain.notifications import Delivery, DeliveryStatus, EventType
from shared.domain.quota import QuotaLimits, SubscriptionStatus
from shared.domain.schedules import Backfill, FireStatus, ReprocessPolicy, Schedule, ScheduleFire
from shared.domain.states import RunStatus, StepStatus

Record = Mapping[str, Any]


def utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is refused (it would be read as local time and
    land in the wrong quota bucket)."""
    if value.utcoffset() is None:
        raise ValueError("datetimes given to the store must be timezone-aware")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class RecordFormat:
    """How one store holds times and nested values, and what it calls the run's trigger."""

    time_in: Callable[[Any], datetime]
    time_out: Callable[[datetime], Any]
    nested_in: Callable[[Any], Any]
    nested_out: Callable[[Any], Any]
    trigger_field: str = "trigger"

    def time_or_none_in(self, value: Any) -> datetime | None:
        return None if value is None else self.time_in(value)

    def time_or_none_out(self, value: datetime | None) -> Any:
        return None if value is None else self.time_out(value)

    def encode(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Field values of a domain change as this store writes them."""
        return {name: self._value_out(value) for name, value in fields.items()}

    def _value_out(self, value: Any) -> Any:
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, datetime):
            return self.time_out(value)
        if isinstance(value, dict):
            return self.nested_out(value)
        return value


# -- organisations, runs, steps -------------------------------------------------------


def org_record(org: Org, fmt: RecordFormat) -> dict[str, Any]:
    return {
        "org_slug": org.org_slug,
        "name": org.name,
        "status": SubscriptionStatus(org.status).value,
        "plan": org.plan,
        "daily_limit": org.limits.daily,
        "monthly_limit": org.limits.monthly,
        "concurrent_limit": org.limits.concurrent,
        "api_key_hash": org.api_key_hash,
        "created_at": fmt.time_out(org.created_at),
    }


def org_from(record: Record, fmt: RecordFormat) -> Org:
    return Org(
        org_slug=record["org_slug"],
        name=record["name"],
        status=SubscriptionStatus(record["status"]),
        plan=record["plan"],
        limits=QuotaLimits(
            daily=record["daily_limit"],
            monthly=record["monthly_limit"],
            concurrent=record["concurrent_limit"],
        ),
        api_key_hash=record["api_key_hash"],
        created_at=fmt.time_in(record["created_at"]),
    )


def new_run_record(run: Run, fmt: RecordFormat) -> dict[str, Any]:
    """A created run: pending, whatever status ``run`` carries."""
    return {
        "org_slug": run.org_slug,
        "pipeline_ref": run.pipeline_ref,
        "pipeline_id": run.pipeline_id,
        "provider": run.provider,
        "status": RunStatus.PENDING.value,
        fmt.trigger_field: run.trigger,
        "start_date": run.start_date.isoformat(),
        "end_date": run.end_date.isoformat(),
        "credential_id": run.credential_id,
        "parameters": fmt.nested_out(run.parameters),
        "created_at": fmt.time_out(run.created_at),
        "started_at": None,
        "finished_at": None,
        "error": None,
    }


def run_from(run_id: str, record: Record, fmt: RecordFormat) -> Run:
    return Run(
        run_id=run_id,
        org_slug=record["org_slug"],
        pipeline_ref=record["pipeline_ref"],
        pipeline_id=record["pipeline_id"],
        provider=record["provider"],
        status=RunStatus(record["status"]),
        trigger=record[fmt.trigger_field],
        start_date=date.fromisoformat(record["start_date"]),
        end_date=date.fromisoformat(record["end_date"]),
        credential_id=record["credential_id"],
        parameters=fmt.nested_in(record["parameters"]),
        created_at=fmt.time_in(record["created_at"]),
        started_at=fmt.time_or_none_in(record.get("started_at")),
        finished_at=fmt.time_or_none_in(record.get("finished_at")),
        error=record.get("error"),
    )


def step_from(run_id: str, record: Record, fmt: RecordFormat) -> StepRun:
    return StepRun(
        run_id=run_id,
        step_id=record["step_id"],
        status=StepStatus(record["status"]),
        attempt=record["attempt"],
        lease_until=fmt.time_or_none_in(record.get("lease_until")),
        started_at=fmt.time_or_none_in(record.get("started_at")),
        finished_at=fmt.time_or_none_in(record.get("finished_at")),
        error=record.get("error"),
        rows_written=record["rows_written"],
        metrics=dict(fmt.nested_in(record.get("metrics")) or {}),
    )


def transition_from(run_id: str, record: Record, fmt: RecordFormat) -> Transition:
    return Transition(
        run_id=run_id,
        step_id=record["step_id"],
        from_status=record["from_status"],
        to_status=record["to_status"],
        reason=record["reason"],
        at=fmt.time_in(record["at"]),
    )


def log_from(run_id: str, record: Record, fmt: RecordFormat) -> LogEntry:
    return LogEntry(
        run_id=run_id,
        step_id=record["step_id"],
        level=record["level"],
        message=record["message"],
        at=fmt.time_in(record["at"]),
    )


# -- schedules, fires, backfills, deliveries --------------------------------------------
# Their parameters are JSON text in both stores (as they have always been written).


def schedule_record(schedule: Schedule, fmt: RecordFormat) -> dict[str, Any]:
    return {
        "schedule_id": schedule.schedule_id,
        "org_slug": schedule.org_slug,
        "pipeline_ref": schedule.pipeline_ref,
        "cron": schedule.cron,
        "enabled": schedule.enabled,
        "parameters": json.dumps(schedule.parameters),
        "created_at": fmt.time_out(schedule.created_at),
        "updated_at": fmt.time_out(schedule.updated_at),
        "next_fire_at": fmt.time_or_none_out(schedule.next_fire_at),
        "last_fire_at": fmt.time_or_none_out(schedule.last_fire_at),
        "last_run_id": schedule.last_run_id,
    }


def schedule_from(record: Record, fmt: RecordFormat) -> Schedule:
    return Schedule(
        schedule_id=record["schedule_id"],
        org_slug=record["org_slug"],
        pipeline_ref=record["pipeline_ref"],
        cron=record["cron"],
        enabled=bool(record["enabled"]),
        parameters=json.loads(record["parameters"]),
        created_at=fmt.time_in(record["created_at"]),
        updated_at=fmt.time_in(record["updated_at"]),
        next_fire_at=fmt.time_or_none_in(record.get("next_fire_at")),
        last_fire_at=fmt.time_or_none_in(record.get("last_fire_at")),
        last_run_id=record.get("last_run_id"),
    )


def fire_from(record: Record, fmt: RecordFormat) -> ScheduleFire:
    return ScheduleFire(
        schedule_id=record["schedule_id"],
        fire_time=fmt.time_in(record["fire_time"]),
        org_slug=record["org_slug"],
        pipeline_ref=record["pipeline_ref"],
        run_id=record["run_id"],
        status=FireStatus(record["status"]),
        attempts=record["attempts"],
        error=record["error"],
        created_at=fmt.time_in(record["created_at"]),
        updated_at=fmt.time_in(record["updated_at"]),
    )


def backfill_from(
    record: Record,
    fmt: RecordFormat,
    days: Mapping[date, str | None],
    skipped: list[date],
) -> Backfill:
    """A backfill from its record and its days (stored beside it or inside it)."""
    return Backfill(
        backfill_id=record["backfill_id"],
        org_slug=record["org_slug"],
        pipeline_ref=record["pipeline_ref"],
        start_date=date.fromisoformat(record["start_date"]),
        end_date=date.fromisoformat(record["end_date"]),
        policy=ReprocessPolicy(record["policy"]),
        max_concurrent=record["max_concurrent"],
        parameters=json.loads(record["parameters"]),
        created_at=fmt.time_in(record["created_at"]),
        days=dict(sorted(days.items())),
        skipped=list(skipped),
    )


def delivery_record(delivery: Delivery, fmt: RecordFormat) -> dict[str, Any]:
    return {
        "org_slug": delivery.org_slug,
        "event": delivery.event.value,
        "channel": delivery.channel,
        "target": delivery.target,
        "run_id": delivery.run_id,
        "trigger_key": delivery.trigger_key,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "error": delivery.error,
        "at": fmt.time_out(delivery.at),
    }


def delivery_from(record: Record, fmt: RecordFormat) -> Delivery:
    return Delivery(
        org_slug=record["org_slug"],
        event=EventType(record["event"]),
        channel=record["channel"],
        target=record["target"],
        run_id=record["run_id"],
        trigger_key=record["trigger_key"],
        status=DeliveryStatus(record["status"]),
        attempts=record["attempts"],
        error=record["error"],
        at=fmt.time_in(record["at"]),
    )


def backfill_record(backfill: Backfill, fmt: RecordFormat) -> dict[str, Any]:
    """A backfill's own fields (each store keeps its days its own way)."""
    return {
        "backfill_id": backfill.backfill_id,
        "org_slug": backfill.org_slug,
        "pipeline_ref": backfill.pipeline_ref,
        "start_date": backfill.start_date.isoformat(),
        "end_date": backfill.end_date.isoformat(),
        "policy": ReprocessPolicy(backfill.policy).value,
        "max_concurrent": backfill.max_concurrent,
        "parameters": json.dumps(backfill.parameters),
        "created_at": fmt.time_out(backfill.created_at),
    }
