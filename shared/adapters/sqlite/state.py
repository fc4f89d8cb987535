"""StateStore on one SQLite file, shared safely by threads and processes.

Concurrency model: one connection per thread (SQLite connections must not be shared
between threads), WAL so readers never block the writer, and every mutation in a
``BEGIN IMMEDIATE`` transaction so its reads and writes happen under the database's
write lock: check-then-write cannot interleave, even across processes (the plumbing
is shared/adapters/sqlite/db.py's SqliteDatabase).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from shared.adapters.clock import SystemClock
from shared.adapters.sqlite.db import SqliteDatabase
from shared.domain.errors import Conflict, NotFound
from shared.domain.models import LogEntry, Org, Run, StepRun, Transition
from shared.domain.quota import (
    QuotaDecision,
    QuotaLimits,
    QuotaUsage,
    SubscriptionStatus,
    day_bucket,
    decide,
    month_bucket,
)
from shared.domain.states import (
    RunStatus,
    StepStatus,
    check_run_transition,
    check_step_transition,
)
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


class SqliteStateStore:
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
                conn.execute(
                    "INSERT INTO orgs (org_slug, name, status, plan, daily_limit,"
                    " monthly_limit, concurrent_limit, api_key_hash, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _org_values(org),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"org {org.org_slug} already exists", org=org.org_slug) from None

    def get_org(self, org_slug: str) -> Org | None:
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM orgs WHERE org_slug = ?", (org_slug,)).fetchone()
        return _org(row) if row else None

    def update_org(self, org: Org) -> None:
        """Raises NotFound if the org does not exist."""
        values = _org_values(org)
        with self._db.write() as conn:
            cur = conn.execute(
                "UPDATE orgs SET name = ?, status = ?, plan = ?, daily_limit = ?,"
                " monthly_limit = ?, concurrent_limit = ?, api_key_hash = ?, created_at = ?"
                " WHERE org_slug = ?",
                (*values[1:], values[0]),
            )
            if cur.rowcount == 0:
                raise NotFound(f"org {org.org_slug} not found", org=org.org_slug)

    # -- quota -------------------------------------------------------------------

    def reserve_quota(
        self, org_slug: str, run_id: str, limits: QuotaLimits, now: datetime
    ) -> QuotaDecision:
        now = _utc(now)
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
                    (org_slug, run_id, day_bucket(now), month_bucket(now), _ts(now)),
                )
            return decision

    def release_concurrent(self, org_slug: str, run_id: str) -> bool:
        with self._db.write() as conn:
            cur = conn.execute(
                "UPDATE quota_reservations SET concurrent_active = 0, released_at = ?"
                " WHERE org_slug = ? AND run_id = ? AND concurrent_active = 1",
                (_ts(self._clock.now()), org_slug, run_id),
            )
            return cur.rowcount == 1

    def quota_usage(self, org_slug: str, now: datetime) -> QuotaUsage:
        with self._db.read() as conn:
            return _usage(conn, org_slug, _utc(now))

    # -- runs --------------------------------------------------------------------

    def create_run(self, run: Run, at: datetime) -> None:
        """Raises Conflict if the run_id exists; statuses given on ``run`` are ignored."""
        for key, step in run.steps.items():
            if key != step.step_id:
                raise ValueError(f"run.steps key {key!r} != step_id {step.step_id!r}")
        with self._db.write() as conn:
            try:
                conn.execute(
                    "INSERT INTO runs (run_id, org_slug, pipeline_ref, pipeline_id, provider,"
                    " status, trigger_kind, start_date, end_date, credential_id, parameters,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run.run_id,
                        run.org_slug,
                        run.pipeline_ref,
                        run.pipeline_id,
                        run.provider,
                        RunStatus.PENDING.value,
                        run.trigger,
                        run.start_date.isoformat(),
                        run.end_date.isoformat(),
                        run.credential_id,
                        json.dumps(run.parameters),
                        _ts(run.created_at),
                    ),
                )
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
            params.extend([_ts(before), _ts(before), before_run_id])
        elif before is not None:
            sql += " AND created_at < ?"  # fixed-width UTC strings sort chronologically
            params.append(_ts(before))
        sql += " ORDER BY created_at DESC, run_id DESC LIMIT ?"
        params.append(limit)
        with self._db.read() as conn:
            return _with_steps(conn, conn.execute(sql, params).fetchall())

    def transition_run(
        self,
        org_slug: str,
        run_id: str,
        target: RunStatus,
        reason: str,
        at: datetime,
        *,
        error: str | None = None,
    ) -> bool:
        """Also raises NotFound if the run is absent or another org's."""
        target = RunStatus(target)
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT status FROM runs WHERE run_id = ? AND org_slug = ?", (run_id, org_slug)
            ).fetchone()
            if row is None:
                raise NotFound(f"run {run_id} not found", run_id=run_id)
            current = RunStatus(row["status"])
            if current == target:
                return False
            check_run_transition(current, target)
            conn.execute(
                "UPDATE runs SET status = ?,"
                " started_at = CASE WHEN ? THEN COALESCE(started_at, ?) ELSE started_at END,"
                " finished_at = CASE WHEN ? THEN ? ELSE finished_at END,"
                " error = COALESCE(?, error) WHERE run_id = ?",
                (
                    target.value,
                    target == RunStatus.RUNNING,
                    _ts(at),
                    target.terminal,
                    _ts(at),
                    error,
                    run_id,
                ),
            )
            _record(conn, run_id, None, current, target, _with_error(reason, error), at)
            return True

    # -- steps -------------------------------------------------------------------

    def claim_step_attempt(
        self,
        run_id: str,
        step_id: str,
        attempt: int,
        lease_until: datetime,
        at: datetime,
        *,
        note: str | None = None,
    ) -> StepRun | None:
        """Also raises NotFound for an unknown step, ValueError for ``attempt`` < 1."""
        if attempt < 1:
            raise ValueError("attempts are numbered from 1")
        with self._db.write() as conn:
            step, outcome_attempt = _load_step(conn, run_id, step_id)
            if step.status == StepStatus.PENDING:
                check_step_transition(step.status, StepStatus.RUNNING)
                reason = f"attempt {attempt} claimed"
                _record(conn, run_id, step_id, step.status, StepStatus.RUNNING, reason, at)
            elif step.status != StepStatus.RUNNING or attempt < step.attempt:
                return None  # terminal, or a superseded attempt
            elif attempt == step.attempt:
                lease_live = step.lease_until is not None and step.lease_until > _utc(at)
                if lease_live or outcome_attempt == attempt:
                    return None  # someone is running it, or it already reported
            # else: a later attempt (a retry) takes over from an earlier one
            if note is not None:
                conn.execute(
                    "INSERT INTO logs (run_id, step_id, level, message, at) VALUES (?, ?, ?, ?, ?)",
                    (run_id, step_id, "INFO", note, _ts(at)),
                )
            conn.execute(
                "UPDATE steps SET status = ?, attempt = ?, lease_until = ?,"
                " started_at = COALESCE(started_at, ?) WHERE run_id = ? AND step_id = ?",
                (StepStatus.RUNNING.value, attempt, _ts(lease_until), _ts(at), run_id, step_id),
            )
            return _load_step(conn, run_id, step_id)[0]

    def finish_step_attempt(
        self,
        run_id: str,
        step_id: str,
        attempt: int,
        target: StepStatus | None,
        at: datetime,
        *,
        error: str | None = None,
        rows_written: int = 0,
        metrics: Mapping[str, Any] | None = None,
    ) -> bool:
        """Also raises NotFound for an unknown step, IllegalTransition for a bad target."""
        with self._db.write() as conn:
            step, outcome_attempt = _load_step(conn, run_id, step_id)
            if (
                step.status != StepStatus.RUNNING
                or attempt != step.attempt
                or outcome_attempt == attempt
            ):
                return False  # moved on, superseded/late, or already recorded
            key = (run_id, step_id)
            if target is None:
                # Will be retried: stays running, but the lease is given up so the retry
                # (attempt + 1) can claim at once.
                conn.execute(
                    "UPDATE steps SET error = ?, lease_until = NULL, outcome_attempt = ?"
                    " WHERE run_id = ? AND step_id = ?",
                    (error, attempt, *key),
                )
                return True
            target = StepStatus(target)
            check_step_transition(step.status, target)
            conn.execute(
                "UPDATE steps SET status = ?, error = ?, rows_written = ?, metrics = ?,"
                " lease_until = NULL, outcome_attempt = ?,"
                " finished_at = CASE WHEN ? THEN ? ELSE finished_at END"
                " WHERE run_id = ? AND step_id = ?",
                (
                    target.value,
                    error,
                    rows_written,
                    json.dumps(dict(metrics or {})),
                    attempt,
                    target.terminal,
                    _ts(at),
                    *key,
                ),
            )
            reason = _with_error(f"attempt {attempt} {target.value}", error)
            _record(conn, run_id, step_id, step.status, target, reason, at)
            return True

    def transition_step(
        self, run_id: str, step_id: str, target: StepStatus, reason: str, at: datetime
    ) -> bool:
        """Also raises NotFound for an unknown step."""
        target = StepStatus(target)
        with self._db.write() as conn:
            step, _ = _load_step(conn, run_id, step_id)
            if step.status == target:
                return False
            check_step_transition(step.status, target)
            conn.execute(
                "UPDATE steps SET status = ?,"
                " started_at = CASE WHEN ? THEN COALESCE(started_at, ?) ELSE started_at END,"
                " finished_at = CASE WHEN ? THEN ? ELSE finished_at END,"
                " lease_until = CASE WHEN ? THEN NULL ELSE lease_until END"
                " WHERE run_id = ? AND step_id = ?",
                (
                    target.value,
                    target == StepStatus.RUNNING,
                    _ts(at),
                    target.terminal,
                    _ts(at),
                    target.terminal,
                    run_id,
                    step_id,
                ),
            )
            _record(conn, run_id, step_id, step.status, target, reason, at)
            return True

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
        return [
            Transition(
                run_id=row["run_id"],
                step_id=row["step_id"],
                from_status=row["from_status"],
                to_status=row["to_status"],
                reason=row["reason"],
                at=_dt(row["at"]),
            )
            for row in rows
        ]

    def append_log(
        self, run_id: str, step_id: str | None, level: str, message: str, at: datetime
    ) -> None:
        """Raises NotFound if the run does not exist."""
        with self._db.write() as conn:
            try:
                conn.execute(
                    "INSERT INTO logs (run_id, step_id, level, message, at) VALUES (?, ?, ?, ?, ?)",
                    (run_id, step_id, level, message, _ts(at)),
                )
            except sqlite3.IntegrityError:  # only the foreign key can fail
                raise NotFound(f"run {run_id} not found", run_id=run_id) from None

    def list_logs(self, org_slug: str, run_id: str) -> list[LogEntry]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT l.* FROM logs l JOIN runs r ON r.run_id = l.run_id"
                " WHERE l.run_id = ? AND r.org_slug = ? ORDER BY l.id",
                (run_id, org_slug),
            ).fetchall()
        return [
            LogEntry(
                run_id=row["run_id"],
                step_id=row["step_id"],
                level=row["level"],
                message=row["message"],
                at=_dt(row["at"]),
            )
            for row in rows
        ]

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
        return [(row[0], row[1], _dt(row[2])) for row in rows]

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
        (run_id, step_id, from_status, to_status, reason, _ts(at)),
    )


def _with_error(reason: str, error: str | None) -> str:
    return f"{reason}: {error}" if error else reason


def _load_step(conn: sqlite3.Connection, run_id: str, step_id: str) -> tuple[StepRun, int]:
    """The step and its outcome_attempt (bookkeeping the StepRun model does not carry)."""
    row = conn.execute(
        "SELECT * FROM steps WHERE run_id = ? AND step_id = ?", (run_id, step_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"step {step_id} of run {run_id} not found", run_id=run_id, step=step_id)
    return _step(row), int(row["outcome_attempt"])


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


def _org_values(org: Org) -> tuple[Any, ...]:
    return (
        org.org_slug,
        org.name,
        SubscriptionStatus(org.status).value,
        org.plan,
        org.limits.daily,
        org.limits.monthly,
        org.limits.concurrent,
        org.api_key_hash,
        _ts(org.created_at),
    )


def _org(row: sqlite3.Row) -> Org:
    return Org(
        org_slug=row["org_slug"],
        name=row["name"],
        status=SubscriptionStatus(row["status"]),
        plan=row["plan"],
        limits=QuotaLimits(
            daily=row["daily_limit"],
            monthly=row["monthly_limit"],
            concurrent=row["concurrent_limit"],
        ),
        api_key_hash=row["api_key_hash"],
        created_at=_dt(row["created_at"]),
    )


def _run(row: sqlite3.Row) -> Run:
    return Run(
        run_id=row["run_id"],
        org_slug=row["org_slug"],
        pipeline_ref=row["pipeline_ref"],
        pipeline_id=row["pipeline_id"],
        provider=row["provider"],
        status=RunStatus(row["status"]),
        trigger=row["trigger_kind"],
        start_date=date.fromisoformat(row["start_date"]),
        end_date=date.fromisoformat(row["end_date"]),
        credential_id=row["credential_id"],
        parameters=json.loads(row["parameters"]),
        created_at=_dt(row["created_at"]),
        started_at=_dt_or_none(row["started_at"]),
        finished_at=_dt_or_none(row["finished_at"]),
        error=row["error"],
    )


def _step(row: sqlite3.Row) -> StepRun:
    return StepRun(
        run_id=row["run_id"],
        step_id=row["step_id"],
        status=StepStatus(row["status"]),
        attempt=row["attempt"],
        lease_until=_dt_or_none(row["lease_until"]),
        started_at=_dt_or_none(row["started_at"]),
        finished_at=_dt_or_none(row["finished_at"]),
        error=row["error"],
        rows_written=row["rows_written"],
        metrics=json.loads(row["metrics"]),
    )


def _utc(value: datetime) -> datetime:
    # A naive datetime would be read as local time and land in the wrong quota bucket.
    if value.utcoffset() is None:
        raise ValueError("datetimes given to the state store must be timezone-aware")
    return value.astimezone(UTC)


def _ts(value: datetime) -> str:
    """Fixed-width ISO-8601 UTC, so string order is time order in SQL."""
    return _utc(value).isoformat(timespec="microseconds")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _dt_or_none(text: str | None) -> datetime | None:
    return None if text is None else _dt(text)
