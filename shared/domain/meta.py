"""The BigQuery meta tables the product's dashboards read (CLIENT_CONTRACT.md): runs and
schedules in ``organizations``, notification deliveries in each org's dataset.

Pure mapping from the state store's records to those rows; the writing (a MERGE on the
key, procedures/meta/*.sql) is shared/handlers/meta_mirror.py. Pub/Sub reorders, so a
mirrored state carries its own version and the MERGE keeps the newest: for a run, its
status's rank in the state machine, then the time it reached that state
(``updated_at``); for a schedule, its ``updated_at``, then ``last_run_at``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from shared.domain.columns import Column
from shared.domain.models import Run
from shared.domain.notifications import Delivery
from shared.domain.schedules import Schedule
from shared.domain.states import RunStatus

META_DATASET = "organizations"  # one per deployment (project), as the contract names it
RUNS_TABLE = "pipeline_runs"
SCHEDULES_TABLE = "pipeline_schedules"
HISTORY_TABLE = "org_notification_history"  # in the org's {org_slug}_{env} dataset

# The state machine's order (shared/domain/states.py): a later status always wins over
# an earlier one, whatever their timestamps. procedures/meta/merge_pipeline_run.sql
# spells the same ranks (tests/unit/test_meta_rows.py checks they agree).
RUN_STATUS_RANK: dict[RunStatus, int] = {
    RunStatus.PENDING: 0,
    RunStatus.VALIDATING: 1,
    RunStatus.RUNNING: 2,
    RunStatus.PROCESSING: 3,
    RunStatus.COMPLETED: 4,
    RunStatus.FAILED: 4,
    RunStatus.CANCELLED: 4,
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The contract's columns, then ours: ``updated_at`` (when the run reached the mirrored
# state) orders reordered mirrors within a status and lets the catch-up see what is
# behind; ``pipeline_id`` and ``progress`` are what the API shows beside them.
RUN_COLUMNS: tuple[Column, ...] = (
    Column("run_id", "STRING", "REQUIRED"),
    Column("org_slug", "STRING", "REQUIRED"),
    Column("provider", "STRING"),
    Column("domain", "STRING"),
    Column("pipeline", "STRING"),
    Column("status", "STRING"),
    Column("started_at", "TIMESTAMP"),
    Column("completed_at", "TIMESTAMP"),
    Column("records_processed", "INT64"),
    Column("error_message", "STRING"),
    Column("parameters", "JSON"),
    Column("created_by", "STRING"),
    Column("created_at", "TIMESTAMP"),
    Column("updated_at", "TIMESTAMP"),
    Column("pipeline_id", "STRING"),
    Column("progress", "FLOAT64"),
)

# Exactly the contract's columns: its updated_at already versions a schedule.
SCHEDULE_COLUMNS: tuple[Column, ...] = (
    Column("schedule_id", "STRING", "REQUIRED"),
    Column("org_slug", "STRING", "REQUIRED"),
    Column("provider", "STRING"),
    Column("domain", "STRING"),
    Column("pipeline", "STRING"),
    Column("cron_expression", "STRING"),
    Column("is_enabled", "BOOL"),
    Column("last_run_at", "TIMESTAMP"),
    Column("next_run_at", "TIMESTAMP"),
    Column("parameters", "JSON"),
    Column("created_at", "TIMESTAMP"),
    Column("updated_at", "TIMESTAMP"),
)

# A delivery never changes once recorded: ``delivery_key`` (derived from what makes it
# that delivery) makes a second mirror of it a no-op.
HISTORY_COLUMNS: tuple[Column, ...] = (
    Column("delivery_key", "STRING", "REQUIRED"),
    Column("org_slug", "STRING", "REQUIRED"),
    Column("event", "STRING"),
    Column("channel", "STRING"),
    Column("target", "STRING"),
    Column("run_id", "STRING"),
    Column("trigger_key", "STRING"),
    Column("status", "STRING"),
    Column("attempts", "INT64"),
    Column("error", "STRING"),
    Column("created_at", "TIMESTAMP"),
)


def run_updated_at(run: Run) -> datetime:
    """When the run reached its current state: its latest recorded time (a step that
    started or finished counts, so a run moving through its steps gets newer)."""
    times = [run.created_at, run.started_at, run.finished_at]
    for step in run.steps.values():
        times += [step.started_at, step.finished_at]
    return max(t for t in times if t is not None)


# The API's names and values (to_public) the rows take as they are; the rest are typed
# here (timestamps as TIMESTAMP, parameters as JSON text).
_RUN_AS_SHOWN = ("run_id", "org_slug", "provider", "domain", "pipeline", "status")
_SCHEDULE_AS_SHOWN = (
    "schedule_id",
    "org_slug",
    "provider",
    "domain",
    "pipeline",
    "cron_expression",
    "is_enabled",
)


def run_row(run: Run) -> dict[str, Any]:
    """The pipeline_runs row of ``run`` (read with its steps: records_processed and
    progress are theirs)."""
    shown = run.to_public()
    return {
        **{name: shown[name] for name in _RUN_AS_SHOWN},
        "started_at": run.started_at,
        "completed_at": run.finished_at,
        "records_processed": run.records_processed,
        "error_message": run.error,
        "parameters": json_text(run.parameters),
        "created_by": run.trigger,  # api | cli | schedule | pubsub | backfill
        "created_at": run.created_at,
        "updated_at": run_updated_at(run),
        "pipeline_id": run.pipeline_id,
        "progress": float(run.progress),
    }


def schedule_row(schedule: Schedule, provider: str) -> dict[str, Any]:
    """The pipeline_schedules row; ``provider`` is the vendor, as runs name it."""
    shown = schedule.to_public(provider)
    return {
        **{name: shown[name] for name in _SCHEDULE_AS_SHOWN},
        "last_run_at": schedule.last_fire_at,
        "next_run_at": schedule.next_fire_at,
        "parameters": json_text(schedule.parameters),
        "created_at": schedule.created_at,
        "updated_at": schedule.updated_at,
    }


def delivery_key(delivery: Delivery) -> str:
    """A stable id of one recorded delivery: the same record always gives the same key."""
    parts = (
        delivery.org_slug,
        delivery.run_id,
        delivery.event.value,
        delivery.channel,
        delivery.trigger_key,
        delivery.status.value,
        delivery.at.astimezone(UTC).isoformat(),
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def delivery_row(delivery: Delivery) -> dict[str, Any]:
    """The org_notification_history row: the delivery's fields (enums as their values,
    ``at`` as created_at) after its key."""
    row: dict[str, Any] = {"delivery_key": delivery_key(delivery)}
    for field in dataclasses.fields(delivery):
        value = getattr(delivery, field.name)
        row["created_at" if field.name == "at" else field.name] = (
            value.value if isinstance(value, Enum) else value
        )
    return row


def run_version(row: Mapping[str, Any]) -> tuple[int, datetime]:
    """What orders two states of one run (a pipeline_runs row or run_row's)."""
    return RUN_STATUS_RANK[RunStatus(row["status"])], _utc(row["updated_at"])


def schedule_version(row: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """What orders two states of one schedule: a change of its settings, then a firing."""
    return _utc(row["updated_at"]), _utc(row["last_run_at"])


def json_text(value: Any) -> str:
    """A JSON column's value as text (the MERGE parses it): keys sorted, so the same
    parameters always give the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _utc(value: datetime | None) -> datetime:
    return _EPOCH if value is None else value.astimezone(UTC)
