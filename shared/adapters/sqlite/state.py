"""StateStore on one SQLite file, shared safely by threads and processes.

Concurrency model: one connection per thread (SQLite connections must not be shared
between threads), WAL so readers never block the writer, and every mutation in a
``BEGIN IMMEDIATE`` transaction so its reads and writes happen under the database's
write lock: check-then-write cannot interleave, even across processes (the plumbing
is shared/adapters/sqlite/db.py's SqliteDatabase).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.adapters import records
from shared.adapters.clock import SystemClock
from shared.adapters.records import utc
from shared.adapters.sqlite.db import (
    SQLITE_RECORDS,
    SqliteDatabase,
    assignments,
    insert,
    iso_utc,
)
from shared.adapters.step_protocol import RunDecision, StepDecision, StepProtocolStore
from shared.domain.errors import Conflict, NotFound
from shared.domain.models import LogEntry, Org, Run, StepRun, Transition
from shared.domain.quota import (
    QuotaDecision,
    QuotaLimits,
    QuotaUsage,
    day_bucket,
    decide,
    month_bucket,
)
from shared.domain.states import RunStatus, StepStatus
from shared.domain.step_attempts import Change, StoredRun, StoredStep, applied
from shared.ports import Clock

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orgs (
    org_slug          TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    status            TEXT NOT NULL,
    plan              TEXT NOT NULL,
    daily_limit       INTEGER NOT NULL,
    monthly_limit     INTEGER NOT NULL,
    concurrent_limit  INTEGER NOT NULL,
    api_key_hash      TEXT NOT NULL,
    created_at        TEXT NOT NULL
);

-- One row per admitted run. Daily/monthly usage is a count over the row's time
-- buckets, so quotas "reset" by themselves when the UTC day or month changes.
CREATE TABLE IF NOT EXISTS quota_reservations (
    org_slug          TEXT NOT NULL,
    run_id            TEXT NOT NULL,
    day               TEXT NOT NULL,
    month             TEXT NOT NULL,
    concurrent_active INTEGER NOT NULL CHECK (concurrent_active IN (0, 1)),
    created_at        TEXT NOT NULL,
    released_at       TEXT,
    PRIMARY KEY (org_slug, run_id)
);
CREATE INDEX IF NOT EXISTS quota_by_day ON quota_reservations (org_slug, day);
CREATE INDEX IF NOT EXISTS quota_by_month ON quota_reservations (org_slug, month);
-- Covers the concurrent count: it reads only the org's active entries.
CREATE INDEX IF NOT EXISTS quota_active ON quota_reservations (org_slug, concurrent_active);

CREATE TABLE IF NOT EXISTS runs (
    run_id         TEXT PRIMARY KEY,
    org_slug       TEXT NOT NULL,
    pipeline_ref   TEXT NOT NULL,
    pipeline_id    TEXT NOT NULL,
    provider       TEXT NOT NULL,
    status         TEXT NOT NULL,
    trigger_kind   TEXT NOT NULL,
    start_date     TEXT NOT NULL,
    end_date       TEXT NOT NULL,
    credential_id  TEXT NOT NULL,
    parameters     TEXT NOT NULL,  -- JSON object
    created_at     TEXT NOT NULL,
    started_at     TEXT,
    finished_at    TEXT,
    error          TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_org ON runs (org_slug, created_at);

CREATE TABLE IF NOT EXISTS steps (
    run_id          TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    step_id         TEXT NOT NULL,
    position        INTEGER NOT NULL,  -- keeps the pipeline's step order
    status          TEXT NOT NULL,
    attempt         INTEGER NOT NULL DEFAULT 0,
    outcome_attempt INTEGER NOT NULL DEFAULT 0,  -- last attempt whose outcome is recorded
    lease_until     TEXT,
    started_at      TEXT,
    finished_at     TEXT,
    error           TEXT,
    rows_written    INTEGER NOT NULL DEFAULT 0,
    metrics         TEXT NOT NULL DEFAULT '{}',  -- JSON object
    PRIMARY KEY (run_id, step_id)
);

CREATE TABLE IF NOT EXISTS transitions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- recording order
    run_id       TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    step_id      TEXT,  -- NULL = the run itself
    from_status  TEXT,  -- NULL = created
    to_status    TEXT NOT NULL,
    reason       TEXT NOT NULL,
    at           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_by_run ON transitions (run_id, id);

CREATE TABLE IF NOT EXISTS logs (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id   TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    step_id  TEXT,
    level    TEXT NOT NULL,
    message  TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_by_run ON logs (run_id, id);
"""


class SqliteStateStore(StepProtocolStore):
    """The StateStore port on a local SQLite file (see the module docstring)."""

    def __init__(self, path: Path | str, *, clock: Clock | None = None) -> None:
        # release_concurrent has no time argument in the port; released_at comes from here.
        self._clock: Clock = clock or SystemClock()
        self._db = SqliteDatabase(path, _SCHEMA)

    def close(self) -> None:
        """Close the calling thread's connection (others close when their thread ends)."""
        self._db.close()

    # -- organisations -----------------------------------------------------------

    def create_org(self, org: Org) -> None:
        with self._db.write() as conn:
            try:
                insert(conn, "orgs", records.org_record(org, SQLITE_RECORDS))
            except sqlite3.IntegrityError:
                raise Conflict(f"org {org.org_slug} already exists", org=org.org_slug) from None

    def get_org(self, org_slug: str) -> Org | None:
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM orgs WHERE org_slug = ?", (org_slug,)).fetchone()
        return _org(row) if row else None

    def update_org(self, org: Org) -> None:
        """Raises NotFound if the org does not exist."""
        record = records.org_record(org, SQLITE_RECORDS)
        del record["org_slug"]  # the key, not a change
        sets, values = assignments(record)
        with self._db.write() as conn:
            cur = conn.execute(
                f"UPDATE orgs SET {sets} WHERE org_slug = ?", (*values, org.org_slug)
            )
            if cur.rowcount == 0:
                raise NotFound(f"org {org.org_slug} not found", org=org.org_slug)

    # -- quota -------------------------------------------------------------------

    def reserve_quota(
        self, org_slug: str, run_id: str, limits: QuotaLimits, now: datetime
    ) -> QuotaDecision:
        now = utc(now)
        with self._db.write() as conn:
            held = conn.execute(
                "SELECT 1 FROM quota_reservations WHERE org_slug = ? AND run_id = ?",
                (org_slug, run_id),
            ).fetchone()
            if held:
                return QuotaDecision(True)  # idempotent: a redelivered request takes nothing
            decision = decide(limits, _usage(conn, org_slug, now))
            if decision.admitted:
                conn.execute(
                    "INSERT INTO quota_reservations (org_slug, run_id, day, month,"
                    " concurrent_active, created_at) VALUES (?, ?, ?, ?, 1, ?)",
                    (org_slug, run_id, day_bucket(now), month_bucket(now), iso_utc(now)),
                )
            return decision

    def release_concurrent(self, org_slug: str, run_id: str) -> bool:
        with self._db.write() as conn:
            cur = conn.execute(
                "UPDATE quota_reservations SET concurrent_active = 0, released_at = ?"
                " WHERE org_slug = ? AND run_id = ? AND concurrent_active = 1",
                (iso_utc(self._clock.now()), org_slug, run_id),
            )
            return cur.rowcount == 1

    def quota_usage(self, org_slug: str, now: datetime) -> QuotaUsage:
        with self._db.read() as conn:
            return _usage(conn, org_slug, utc(now))

    # -- runs --------------------------------------------------------------------

    def create_run(self, run: Run, at: datetime) -> None:
        """Raises Conflict if the run_id exists; statuses given on ``run`` are ignored."""
        for key, step in run.steps.items():
            if key != step.step_id:
                raise ValueError(f"run.steps key {key!r} != step_id {step.step_id!r}")
        with self._db.write() as conn:
            try:
                record = {"run_id": run.run_id, **records.new_run_record(run, SQLITE_RECORDS)}
                insert(conn, "runs", record)
            except sqlite3.IntegrityError:
                raise Conflict(f"run {run.run_id} already exists", run_id=run.run_id) from None
            conn.executemany(
                "INSERT INTO steps (run_id, step_id, position, status) VALUES (?, ?, ?, ?)",
                [
                    (run.run_id, step_id, position, StepStatus.PENDING.value)
                    for position, step_id in enumerate(run.steps)
                ],
            )
            _record(conn, run.run_id, None, None, RunStatus.PENDING, "created", at)

    def get_run(self, org_slug: str, run_id: str, *, with_steps: bool = True) -> Run | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT * FROM runs WHERE run_id = ? AND org_slug = ?", (run_id, org_slug)
            ).fetchone()
            if row is None:
                return None
            return _with_steps(conn, [row])[0] if with_steps else _run(row)

    def list_runs(
        self,
        org_slug: str,
        *,
        provider: str | None = None,
        status: RunStatus | None = None,
        limit: int = 50,
        before: datetime | None = None,
        before_run_id: str | None = None,
    ) -> list[Run]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        sql = "SELECT * FROM runs WHERE org_slug = ?"
        params: list[Any] = [org_slug]
        if provider is not None:
            sql += " AND provider = ?"
            params.append(provider)
        if status is not None:
            sql += " AND status = ?"
            params.append(RunStatus(status).value)
        if before is not None and before_run_id is not None:
            # Keyset cursor on the sort key: runs created in the same microsecond page too.
            sql += " AND (created_at < ? OR (created_at = ? AND run_id < ?))"
            params.extend([iso_utc(before), iso_utc(before), before_run_id])
        elif before is not None:
            sql += " AND created_at < ?"  # fixed-width UTC strings sort chronologically
            params.append(iso_utc(before))
        sql += " ORDER BY created_at DESC, run_id DESC LIMIT ?"
        params.append(limit)
        with self._db.read() as conn:
            return _with_steps(conn, conn.execute(sql, params).fetchall())

    def _change_run(self, org_slug: str, run_id: str, at: datetime, decide: RunDecision) -> bool:
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT status, started_at FROM runs WHERE run_id = ? AND org_slug = ?",
                (run_id, org_slug),
            ).fetchone()
            if row is None:
                raise NotFound(f"run {run_id} not found", run_id=run_id)
            stored = StoredRun(RunStatus(row["status"]), SQLITE_RECORDS.time_or_none_in(row[1]))
            change = decide(stored)
            if change is None:
                return False
            _apply(conn, run_id, None, change, at)
            return True

    # -- steps -------------------------------------------------------------------

    def _change_step(
        self, run_id: str, step_id: str, at: datetime, decide: StepDecision
    ) -> StepRun | None:
        with self._db.write() as conn:
            stored = _load_step(conn, run_id, step_id)
            change = decide(stored)
            if change is None:
                return None
            _apply(conn, run_id, step_id, change, at)
            return applied(stored.step, change)

    def get_steps(self, run_id: str) -> dict[str, StepRun]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM steps WHERE run_id = ? ORDER BY position", (run_id,)
            ).fetchall()
        return {row["step_id"]: _step(row) for row in rows}

    def step_statuses(
        self, run_id: str, step_ids: Collection[str] | None = None
    ) -> dict[str, StepStatus]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT step_id, status FROM steps WHERE run_id = ? ORDER BY position", (run_id,)
            ).fetchall()
        wanted = None if step_ids is None else set(step_ids)
        return {row[0]: StepStatus(row[1]) for row in rows if wanted is None or row[0] in wanted}

    def has_unfinished_steps(self, run_id: str) -> bool:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT 1 FROM steps WHERE run_id = ? AND status IN (?, ?) LIMIT 1",
                (run_id, StepStatus.PENDING.value, StepStatus.RUNNING.value),
            ).fetchone()
        return row is not None

    # -- history -----------------------------------------------------------------

    def list_transitions(self, org_slug: str, run_id: str) -> list[Transition]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT t.* FROM transitions t JOIN runs r ON r.run_id = t.run_id"
                " WHERE t.run_id = ? AND r.org_slug = ? ORDER BY t.id",
                (run_id, org_slug),
            ).fetchall()
        return [records.transition_from(run_id, row, SQLITE_RECORDS) for row in rows]

    def append_log(
        self, run_id: str, step_id: str | None, level: str, message: str, at: datetime
    ) -> None:
        """Raises NotFound if the run does not exist."""
        with self._db.write() as conn:
            try:
                _log(conn, run_id, step_id, level, message, at)
            except sqlite3.IntegrityError:  # only the foreign key can fail
                raise NotFound(f"run {run_id} not found", run_id=run_id) from None

    def list_logs(self, org_slug: str, run_id: str) -> list[LogEntry]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT l.* FROM logs l JOIN runs r ON r.run_id = l.run_id"
                " WHERE l.run_id = ? AND r.org_slug = ? ORDER BY l.id",
                (run_id, org_slug),
            ).fetchall()
        return [records.log_from(run_id, row, SQLITE_RECORDS) for row in rows]

    # -- maintenance ---------------------------------------------------------------

    def list_orgs(self) -> list[Org]:
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM orgs ORDER BY org_slug").fetchall()
        return [_org(row) for row in rows]

    def active_reservations(self) -> list[tuple[str, str, datetime]]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT org_slug, run_id, created_at FROM quota_reservations"
                " WHERE concurrent_active = 1 ORDER BY created_at"
            ).fetchall()
        return [(row[0], row[1], SQLITE_RECORDS.time_in(row[2])) for row in rows]

    def purge_reservations(self, before_month: str) -> int:
        with self._db.write() as conn:
            cur = conn.execute(
                "DELETE FROM quota_reservations WHERE concurrent_active = 0 AND month < ?",
                (before_month,),
            )
            return cur.rowcount


# -- helpers (all run inside a caller's transaction) -----------------------------


def _usage(conn: sqlite3.Connection, org_slug: str, now: datetime) -> QuotaUsage:
    row = conn.execute(
        "SELECT"
        " (SELECT COUNT(*) FROM quota_reservations"
        "   WHERE org_slug = :org AND concurrent_active = 1),"
        " (SELECT COUNT(*) FROM quota_reservations WHERE org_slug = :org AND day = :day),"
        " (SELECT COUNT(*) FROM quota_reservations WHERE org_slug = :org AND month = :month)",
        {"org": org_slug, "day": day_bucket(now), "month": month_bucket(now)},
    ).fetchone()
    return QuotaUsage(concurrent=row[0], daily=row[1], monthly=row[2])


def _record(
    conn: sqlite3.Connection,
    run_id: str,
    step_id: str | None,
    from_status: str | None,
    to_status: str,
    reason: str,
    at: datetime,
) -> None:
    conn.execute(
        "INSERT INTO transitions (run_id, step_id, from_status, to_status, reason, at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (run_id, step_id, from_status, to_status, reason, iso_utc(at)),
    )


def _log(
    conn: sqlite3.Connection,
    run_id: str,
    step_id: str | None,
    level: str,
    message: str,
    at: datetime,
) -> None:
    conn.execute(
        "INSERT INTO logs (run_id, step_id, level, message, at) VALUES (?, ?, ?, ?, ?)",
        (run_id, step_id, level, message, iso_utc(at)),
    )


def _apply(
    conn: sqlite3.Connection, run_id: str, step_id: str | None, change: Change, at: datetime
) -> None:
    """Write a decided change of the run (``step_id`` None) or of one of its steps: its
    fields, its transition, its log line."""
    sets, values = assignments(SQLITE_RECORDS.encode(change.fields))
    if step_id is None:
        conn.execute(f"UPDATE runs SET {sets} WHERE run_id = ?", (*values, run_id))
    else:
        conn.execute(
            f"UPDATE steps SET {sets} WHERE run_id = ? AND step_id = ?",
            (*values, run_id, step_id),
        )
    if change.move is not None:
        move = change.move
        _record(conn, run_id, step_id, move.from_status, move.to_status, move.reason, at)
    if change.note is not None:
        _log(conn, run_id, step_id, "INFO", change.note, at)


def _load_step(conn: sqlite3.Connection, run_id: str, step_id: str) -> StoredStep:
    row = conn.execute(
        "SELECT * FROM steps WHERE run_id = ? AND step_id = ?", (run_id, step_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"step {step_id} of run {run_id} not found", run_id=run_id, step=step_id)
    return StoredStep(_step(row), int(row["outcome_attempt"]))


def _with_steps(conn: sqlite3.Connection, rows: Sequence[sqlite3.Row]) -> list[Run]:
    """Runs from their rows, each with its steps, loaded in one query."""
    runs = [_run(row) for row in rows]
    if runs:
        by_id = {run.run_id: run for run in runs}
        marks = ",".join("?" * len(by_id))
        for row in conn.execute(
            f"SELECT * FROM steps WHERE run_id IN ({marks}) ORDER BY run_id, position",
            list(by_id),
        ):
            by_id[row["run_id"]].steps[row["step_id"]] = _step(row)
    return runs


def _org(row: sqlite3.Row) -> Org:
    return records.org_from(dict(row), SQLITE_RECORDS)


def _run(row: sqlite3.Row) -> Run:
    return records.run_from(row["run_id"], dict(row), SQLITE_RECORDS)


def _step(row: sqlite3.Row) -> StepRun:
    return records.step_from(row["run_id"], dict(row), SQLITE_RECORDS)
