"""Schedule, backfill and notification stores on SQLite, in the StateStore's state.db.

Same concurrency model as sqlite_state.py: one connection per thread, WAL, and each
mutation in a ``BEGIN IMMEDIATE`` transaction so check-then-write cannot interleave,
even between processes: shared/adapters/sqlite/db.py's SqliteDatabase.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from shared.adapters.sqlite.db import SqliteDatabase
from shared.domain.errors import Conflict, NotFound
from shared.domain.notifications import Delivery, DeliveryStatus, EventType
from shared.domain.schedules import Backfill, FireStatus, ReprocessPolicy, Schedule, ScheduleFire

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schedules (
    schedule_id   TEXT PRIMARY KEY,
    org_slug      TEXT NOT NULL,
    pipeline_ref  TEXT NOT NULL,
    cron          TEXT NOT NULL,
    enabled       INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    parameters    TEXT NOT NULL,  -- JSON object
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    next_fire_at  TEXT,
    last_fire_at  TEXT,
    last_run_id   TEXT,
    UNIQUE (org_slug, pipeline_ref)
);
CREATE INDEX IF NOT EXISTS schedules_due ON schedules (enabled, next_fire_at);

-- The primary key is the "fires once" guarantee: a second claim cannot insert.
CREATE TABLE IF NOT EXISTS schedule_fires (
    schedule_id  TEXT NOT NULL REFERENCES schedules (schedule_id) ON DELETE CASCADE,
    fire_time    TEXT NOT NULL,
    org_slug     TEXT NOT NULL,
    pipeline_ref TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (schedule_id, fire_time)
);
CREATE INDEX IF NOT EXISTS fires_by_status ON schedule_fires (status, fire_time);

CREATE TABLE IF NOT EXISTS backfills (
    backfill_id    TEXT PRIMARY KEY,
    org_slug       TEXT NOT NULL,
    pipeline_ref   TEXT NOT NULL,
    start_date     TEXT NOT NULL,
    end_date       TEXT NOT NULL,
    policy         TEXT NOT NULL,
    max_concurrent INTEGER NOT NULL,
    parameters     TEXT NOT NULL,  -- JSON object
    created_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS backfills_by_org ON backfills (org_slug, created_at);

CREATE TABLE IF NOT EXISTS notification_settings (
    org_slug    TEXT PRIMARY KEY,
    settings    TEXT NOT NULL,  -- JSON: the org's override of configs/notifications
    updated_at  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS notification_cooldowns (
    org_slug     TEXT NOT NULL,
    channel      TEXT NOT NULL,
    trigger_key  TEXT NOT NULL,
    last_sent_at TEXT NOT NULL,
    PRIMARY KEY (org_slug, channel, trigger_key)
);

CREATE TABLE IF NOT EXISTS notification_deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_slug     TEXT NOT NULL,
    event        TEXT NOT NULL,
    channel      TEXT NOT NULL,
    target       TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    trigger_key  TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL,
    error        TEXT,
    at           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_org ON notification_deliveries (org_slug, id);

CREATE TABLE IF NOT EXISTS backfill_days (
    backfill_id TEXT NOT NULL REFERENCES backfills (backfill_id) ON DELETE CASCADE,
    day         TEXT NOT NULL,
    run_id      TEXT,  -- NULL: still to dispatch
    skipped     INTEGER NOT NULL DEFAULT 0,  -- left out by the reprocess policy
    PRIMARY KEY (backfill_id, day)
);
"""


class SqliteScheduleStore:
    """The ScheduleStore port (see shared/ports.py)."""

    def __init__(self, path: Path | str) -> None:
        self._db = SqliteDatabase(path, _SCHEMA)

    def close(self) -> None:
        self._db.close()

    def create_schedule(self, schedule: Schedule) -> None:
        with self._db.write() as conn:
            try:
                conn.execute(
                    "INSERT INTO schedules (schedule_id, org_slug, pipeline_ref, cron, enabled,"
                    " parameters, created_at, updated_at, next_fire_at, last_fire_at,"
                    " last_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        schedule.schedule_id,
                        schedule.org_slug,
                        schedule.pipeline_ref,
                        schedule.cron,
                        int(schedule.enabled),
                        json.dumps(schedule.parameters),
                        _ts(schedule.created_at),
                        _ts(schedule.updated_at),
                        _ts_or_none(schedule.next_fire_at),
                        _ts_or_none(schedule.last_fire_at),
                        schedule.last_run_id,
                    ),
                )
            except sqlite3.IntegrityError:
                raise Conflict(
                    f"a schedule for {schedule.org_slug} {schedule.pipeline_ref} already exists",
                    org=schedule.org_slug,
                    pipeline=schedule.pipeline_ref,
                ) from None

    def get_schedule(self, schedule_id: str) -> Schedule | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT * FROM schedules WHERE schedule_id = ?", (schedule_id,)
            ).fetchone()
        return _schedule(row) if row else None

    def list_schedules(self, org_slug: str | None = None) -> list[Schedule]:
        sql, params = "SELECT * FROM schedules", []
        if org_slug is not None:
            sql, params = sql + " WHERE org_slug = ?", [org_slug]
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY org_slug, pipeline_ref", params).fetchall()
        return [_schedule(row) for row in rows]

    def update_schedule(self, schedule: Schedule) -> None:
        with self._db.write() as conn:
            cur = conn.execute(
                "UPDATE schedules SET cron = ?, enabled = ?, parameters = ?, next_fire_at = ?,"
                " updated_at = ? WHERE schedule_id = ?",
                (
                    schedule.cron,
                    int(schedule.enabled),
                    json.dumps(schedule.parameters),
                    _ts_or_none(schedule.next_fire_at),
                    _ts(schedule.updated_at),
                    schedule.schedule_id,
                ),
            )
            if cur.rowcount == 0:
                raise NotFound(f"schedule {schedule.schedule_id} not found")

    def due_schedules(self, now: datetime) -> list[Schedule]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM schedules WHERE enabled = 1 AND next_fire_at <= ?"
                " ORDER BY next_fire_at, schedule_id",
                (_ts(now),),
            ).fetchall()
        return [_schedule(row) for row in rows]

    def claim_fire(
        self,
        schedule_id: str,
        fire_time: datetime,
        run_id: str,
        next_fire_at: datetime | None,
        at: datetime,
    ) -> bool:
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT org_slug, pipeline_ref FROM schedules WHERE schedule_id = ?",
                (schedule_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"schedule {schedule_id} not found")
            cur = conn.execute(
                "INSERT OR IGNORE INTO schedule_fires (schedule_id, fire_time, org_slug,"
                " pipeline_ref, run_id, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    schedule_id,
                    _ts(fire_time),
                    row["org_slug"],
                    row["pipeline_ref"],
                    run_id,
                    FireStatus.QUEUED.value,
                    _ts(at),
                    _ts(at),
                ),
            )
            if cur.rowcount == 0:
                # Another tick claimed this firing. If the schedule still points at it (a
                # concurrent PUT wrote back a stale next time), move it on so it is not
                # due forever; a normal winner has moved it already, making this a no-op.
                conn.execute(
                    "UPDATE schedules SET next_fire_at = ? WHERE schedule_id = ?"
                    " AND next_fire_at <= ? AND ? > next_fire_at",
                    (
                        _ts_or_none(next_fire_at),
                        schedule_id,
                        _ts(fire_time),
                        _ts_or_none(next_fire_at) or "",
                    ),
                )
                return False
            conn.execute(
                "UPDATE schedules SET next_fire_at = ?, last_fire_at = ?, last_run_id = ?"
                " WHERE schedule_id = ?",
                (_ts_or_none(next_fire_at), _ts(fire_time), run_id, schedule_id),
            )
            return True

    def settle_fire(
        self,
        schedule_id: str,
        fire_time: datetime,
        status: FireStatus,
        at: datetime,
        *,
        error: str | None = None,
    ) -> bool:
        with self._db.write() as conn:
            cur = conn.execute(
                "UPDATE schedule_fires SET status = ?, error = ?, attempts = attempts + 1,"
                " updated_at = ? WHERE schedule_id = ? AND fire_time = ? AND status = ?",
                (
                    FireStatus(status).value,
                    error,
                    _ts(at),
                    schedule_id,
                    _ts(fire_time),
                    FireStatus.QUEUED.value,
                ),
            )
            return cur.rowcount == 1

    def get_fire(self, schedule_id: str, fire_time: datetime) -> ScheduleFire | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT * FROM schedule_fires WHERE schedule_id = ? AND fire_time = ?",
                (schedule_id, _ts(fire_time)),
            ).fetchone()
        return _fire(row) if row else None

    def list_fires(
        self,
        *,
        status: FireStatus | None = None,
        schedule_id: str | None = None,
        limit: int = 100,
    ) -> list[ScheduleFire]:
        sql, params = "SELECT * FROM schedule_fires WHERE 1 = 1", []
        if status is not None:
            sql += " AND status = ?"
            params.append(FireStatus(status).value)
        if schedule_id is not None:
            sql += " AND schedule_id = ?"
            params.append(schedule_id)
        with self._db.read() as conn:
            rows = conn.execute(
                sql + " ORDER BY fire_time, schedule_id LIMIT ?", [*params, limit]
            ).fetchall()
        return [_fire(row) for row in rows]


class SqliteBackfillStore:
    """The BackfillStore port (see shared/ports.py)."""

    def __init__(self, path: Path | str) -> None:
        self._db = SqliteDatabase(path, _SCHEMA)

    def close(self) -> None:
        self._db.close()

    def create_backfill(self, backfill: Backfill) -> None:
        with self._db.write() as conn:
            try:
                conn.execute(
                    "INSERT INTO backfills (backfill_id, org_slug, pipeline_ref, start_date,"
                    " end_date, policy, max_concurrent, parameters, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        backfill.backfill_id,
                        backfill.org_slug,
                        backfill.pipeline_ref,
                        backfill.start_date.isoformat(),
                        backfill.end_date.isoformat(),
                        ReprocessPolicy(backfill.policy).value,
                        backfill.max_concurrent,
                        json.dumps(backfill.parameters),
                        _ts(backfill.created_at),
                    ),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"backfill {backfill.backfill_id} already exists") from None
            conn.executemany(
                "INSERT INTO backfill_days (backfill_id, day, run_id, skipped) VALUES (?, ?, ?, ?)",
                [(backfill.backfill_id, d.isoformat(), r, 0) for d, r in backfill.days.items()]
                + [(backfill.backfill_id, d.isoformat(), None, 1) for d in backfill.skipped],
            )

    def get_backfill(self, org_slug: str, backfill_id: str) -> Backfill | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT * FROM backfills WHERE backfill_id = ? AND org_slug = ?",
                (backfill_id, org_slug),
            ).fetchone()
            return _backfill(conn, row) if row else None

    def set_day_run(self, backfill_id: str, day: date, run_id: str) -> None:
        with self._db.write() as conn:
            cur = conn.execute(
                "UPDATE backfill_days SET run_id = ? WHERE backfill_id = ? AND day = ?"
                " AND skipped = 0 AND (run_id IS NULL OR run_id = ?)",
                (run_id, backfill_id, day.isoformat(), run_id),
            )
            if cur.rowcount == 0:
                raise NotFound(f"day {day} of backfill {backfill_id} is not open for a run")

    def list_backfills(self, org_slug: str, *, limit: int = 50) -> list[Backfill]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM backfills WHERE org_slug = ?"
                " ORDER BY created_at DESC, backfill_id DESC LIMIT ?",
                (org_slug, limit),
            ).fetchall()
            return [_backfill(conn, row) for row in rows]


class SqliteNotificationStore:
    """The NotificationStore port (see shared/ports.py)."""

    def __init__(self, path: Path | str) -> None:
        self._db = SqliteDatabase(path, _SCHEMA)

    def close(self) -> None:
        self._db.close()

    def get_org_settings(self, org_slug: str) -> dict[str, Any] | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT settings FROM notification_settings WHERE org_slug = ?", (org_slug,)
            ).fetchone()
        if row is None:
            return None
        settings: dict[str, Any] = json.loads(row[0])
        return settings

    def set_org_settings(self, org_slug: str, settings: Mapping[str, Any], at: datetime) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO notification_settings (org_slug, settings, updated_at)"
                " VALUES (?, ?, ?) ON CONFLICT (org_slug) DO UPDATE"
                " SET settings = excluded.settings, updated_at = excluded.updated_at",
                (org_slug, json.dumps(dict(settings)), _ts(at)),
            )

    def claim_cooldown(
        self, org_slug: str, channel: str, trigger_key: str, now: datetime, cooldown_seconds: int
    ) -> bool:
        key = (org_slug, channel, trigger_key)
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT last_sent_at FROM notification_cooldowns"
                " WHERE org_slug = ? AND channel = ? AND trigger_key = ?",
                key,
            ).fetchone()
            if row is not None and (now - _dt(row[0])).total_seconds() < cooldown_seconds:
                return False
            conn.execute(
                "INSERT INTO notification_cooldowns (org_slug, channel, trigger_key, last_sent_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (org_slug, channel, trigger_key)"
                " DO UPDATE SET last_sent_at = excluded.last_sent_at",
                (*key, _ts(now)),
            )
            return True

    def release_cooldown(
        self, org_slug: str, channel: str, trigger_key: str, claimed: datetime
    ) -> None:
        with self._db.write() as conn:
            conn.execute(
                "DELETE FROM notification_cooldowns WHERE org_slug = ? AND channel = ?"
                " AND trigger_key = ? AND last_sent_at = ?",
                (org_slug, channel, trigger_key, _ts(claimed)),
            )

    def record_delivery(self, delivery: Delivery) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO notification_deliveries (org_slug, event, channel, target, run_id,"
                " trigger_key, status, attempts, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    delivery.org_slug,
                    delivery.event.value,
                    delivery.channel,
                    delivery.target,
                    delivery.run_id,
                    delivery.trigger_key,
                    delivery.status.value,
                    delivery.attempts,
                    delivery.error,
                    _ts(delivery.at),
                ),
            )

    def list_deliveries(self, org_slug: str, *, limit: int = 50) -> list[Delivery]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM notification_deliveries WHERE org_slug = ? ORDER BY id DESC LIMIT ?",
                (org_slug, limit),
            ).fetchall()
        return [
            Delivery(
                org_slug=row["org_slug"],
                event=EventType(row["event"]),
                channel=row["channel"],
                target=row["target"],
                run_id=row["run_id"],
                trigger_key=row["trigger_key"],
                status=DeliveryStatus(row["status"]),
                attempts=row["attempts"],
                error=row["error"],
                at=_dt(row["at"]),
            )
            for row in rows
        ]


def _schedule(row: sqlite3.Row) -> Schedule:
    return Schedule(
        schedule_id=row["schedule_id"],
        org_slug=row["org_slug"],
        pipeline_ref=row["pipeline_ref"],
        cron=row["cron"],
        enabled=bool(row["enabled"]),
        parameters=json.loads(row["parameters"]),
        created_at=_dt(row["created_at"]),
        updated_at=_dt(row["updated_at"]),
        next_fire_at=_dt_or_none(row["next_fire_at"]),
        last_fire_at=_dt_or_none(row["last_fire_at"]),
        last_run_id=row["last_run_id"],
    )


def _fire(row: sqlite3.Row) -> ScheduleFire:
    return ScheduleFire(
        schedule_id=row["schedule_id"],
        fire_time=_dt(row["fire_time"]),
        org_slug=row["org_slug"],
        pipeline_ref=row["pipeline_ref"],
        run_id=row["run_id"],
        status=FireStatus(row["status"]),
        attempts=row["attempts"],
        error=row["error"],
        created_at=_dt(row["created_at"]),
        updated_at=_dt(row["updated_at"]),
    )


def _backfill(conn: sqlite3.Connection, row: sqlite3.Row) -> Backfill:
    backfill = Backfill(
        backfill_id=row["backfill_id"],
        org_slug=row["org_slug"],
        pipeline_ref=row["pipeline_ref"],
        start_date=date.fromisoformat(row["start_date"]),
        end_date=date.fromisoformat(row["end_date"]),
        policy=ReprocessPolicy(row["policy"]),
        max_concurrent=row["max_concurrent"],
        parameters=json.loads(row["parameters"]),
        created_at=_dt(row["created_at"]),
    )
    for day in conn.execute(
        "SELECT day, run_id, skipped FROM backfill_days WHERE backfill_id = ? ORDER BY day",
        (backfill.backfill_id,),
    ):
        if day["skipped"]:
            backfill.skipped.append(date.fromisoformat(day["day"]))
        else:
            backfill.days[date.fromisoformat(day["day"])] = day["run_id"]
    return backfill


def _ts(value: datetime) -> str:
    """Fixed-width ISO-8601 UTC, so string order is time order in SQL."""
    if value.utcoffset() is None:
        raise ValueError("datetimes given to the store must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _ts_or_none(value: datetime | None) -> str | None:
    return None if value is None else _ts(value)


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _dt_or_none(text: str | None) -> datetime | None:
    return None if text is None else _dt(text)
