"""Schedule, backfill and notification stores on SQLite, in the StateStore's state.db.

Same concurrency model as state.py: one connection per thread, WAL, and each
mutation in a ``BEGIN IMMEDIATE`` transaction so check-then-write cannot interleave,
even between processes: shared/adapters/sqlite/db.py's SqliteDatabase.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from shared.adapters import records
from shared.adapters.sqlite.db import SQLITE_RECORDS, SqliteDatabase, insert, iso_utc
from shared.domain.errors import Conflict, NotFound
from shared.domain.notifications import Delivery
from shared.domain.schedules import Backfill, FireStatus, Schedule, ScheduleFire

_ts_or_none = SQLITE_RECORDS.time_or_none_out
_dt = SQLITE_RECORDS.time_in

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
                insert(conn, "schedules", records.schedule_record(schedule, SQLITE_RECORDS))
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
                    iso_utc(schedule.updated_at),
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
                (iso_utc(now),),
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
                    iso_utc(fire_time),
                    row["org_slug"],
                    row["pipeline_ref"],
                    run_id,
                    FireStatus.QUEUED.value,
                    iso_utc(at),
                    iso_utc(at),
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
                        iso_utc(fire_time),
                        _ts_or_none(next_fire_at) or "",
                    ),
                )
                return False
            conn.execute(
                "UPDATE schedules SET next_fire_at = ?, last_fire_at = ?, last_run_id = ?"
                " WHERE schedule_id = ?",
                (
                    _ts_or_none(next_fire_at),
                    iso_utc(fire_time),
                    run_id,
                    schedule_id,
                ),
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
                    iso_utc(at),
                    schedule_id,
                    iso_utc(fire_time),
                    FireStatus.QUEUED.value,
                ),
            )
            return cur.rowcount == 1

    def get_fire(self, schedule_id: str, fire_time: datetime) -> ScheduleFire | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT * FROM schedule_fires WHERE schedule_id = ? AND fire_time = ?",
                (schedule_id, iso_utc(fire_time)),
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
                insert(conn, "backfills", records.backfill_record(backfill, SQLITE_RECORDS))
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
                (org_slug, json.dumps(dict(settings)), iso_utc(at)),
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
                (*key, iso_utc(now)),
            )
            return True

    def release_cooldown(
        self, org_slug: str, channel: str, trigger_key: str, claimed: datetime
    ) -> None:
        with self._db.write() as conn:
            conn.execute(
                "DELETE FROM notification_cooldowns WHERE org_slug = ? AND channel = ?"
                " AND trigger_key = ? AND last_sent_at = ?",
                (org_slug, channel, trigger_key, iso_utc(claimed)),
            )

    def record_delivery(self, delivery: Delivery) -> None:
        with self._db.write() as conn:
            record = records.delivery_record(delivery, SQLITE_RECORDS)
            insert(conn, "notification_deliveries", record)

    def list_deliveries(self, org_slug: str, *, limit: int = 50) -> list[Delivery]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM notification_deliveries WHERE org_slug = ? ORDER BY id DESC LIMIT ?",
                (org_slug, limit),
            ).fetchall()
        return [records.delivery_from(row, SQLITE_RECORDS) for row in rows]


def _schedule(row: sqlite3.Row) -> Schedule:
    return records.schedule_from(dict(row), SQLITE_RECORDS)


def _fire(row: sqlite3.Row) -> ScheduleFire:
    return records.fire_from(dict(row), SQLITE_RECORDS)


def _backfill(conn: sqlite3.Connection, row: sqlite3.Row) -> Backfill:
    days: dict[date, str | None] = {}
    skipped: list[date] = []
    for day in conn.execute(
        "SELECT day, run_id, skipped FROM backfill_days WHERE backfill_id = ? ORDER BY day",
        (row["backfill_id"],),
    ):
        if day["skipped"]:
            skipped.append(date.fromisoformat(day["day"]))
        else:
            days[date.fromisoformat(day["day"])] = day["run_id"]
    return records.backfill_from(dict(row), SQLITE_RECORDS, days, skipped)
