"""One SQLite file shared safely by threads and processes: the plumbing every SQLite
store uses (state, schedules, backfills, notifications, credentials in state.db).

Concurrency model: one connection per thread (SQLite connections must not be shared
between threads), WAL so readers never block the writer, and every mutation in a
``BEGIN IMMEDIATE`` transaction so its reads and writes happen under the database's
write lock: check-then-write cannot interleave, even across processes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.adapters.records import RecordFormat, utc

BUSY_TIMEOUT_S = 30.0  # a writer holds the lock for milliseconds; this is a wide margin


class SqliteDatabase:
    """Per-thread connections to one SQLite file, and IMMEDIATE write transactions."""

    def __init__(self, path: Path | str, schema: str) -> None:
        if str(path) == ":memory:" or str(path).startswith("file:"):
            # Each thread has its own connection, and so would get its own empty database.
            raise ValueError("a shared SQLite store needs a file path")
        self._path = Path(path)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # SQLite admits one writer at a time anyway; queueing this process's writers on a
        # lock hands over at once, where SQLite's busy handler would poll with sleeps.
        self._write_lock = threading.Lock()
        conn = self.connection()
        conn.execute("PRAGMA journal_mode=WAL")  # persistent: a property of the file
        conn.executescript(f"BEGIN IMMEDIATE;{schema}COMMIT;")

    def close(self) -> None:
        """Close the calling thread's connection (others close when their thread ends)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def connection(self) -> sqlite3.Connection:
        """The calling thread's connection (autocommit: single statements need no BEGIN)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # timeout= is SQLite's busy_timeout: wait for another process's write lock.
            # isolation_level=None: the module must not open transactions behind our back.
            conn = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys=ON")
            # In WAL mode NORMAL stays consistent after a crash; only a power loss can
            # drop the last commits. It saves an fsync per transaction.
            conn.execute("PRAGMA synchronous=NORMAL")
            # Overwritten rows are zeroed, not left in free space: a value replaced by its
            # ciphertext (a webhook sealed on its org's next write) leaves no copy behind
            # once the WAL is checkpointed. Many builds default to it; not all do.
            conn.execute("PRAGMA secure_delete=ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: the write lock is taken before the first read."""
        conn = self.connection()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction, so multi-query reads see one snapshot."""
        conn = self.connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")


def iso_utc(value: datetime) -> str:
    """Fixed-width ISO-8601 UTC, so string order is time order in SQL."""
    return utc(value).isoformat(timespec="microseconds")


# Times as fixed-width ISO text, nested values as JSON text; ``trigger`` is an SQL keyword.
SQLITE_RECORDS = RecordFormat(
    time_in=datetime.fromisoformat,
    time_out=iso_utc,
    nested_in=json.loads,
    nested_out=json.dumps,
    trigger_field="trigger_kind",
)


def insert(conn: sqlite3.Connection, table: str, record: Mapping[str, Any]) -> None:
    """INSERT one record whose keys are the table's column names (ours, never input)."""
    names = ", ".join(record)
    marks = ", ".join("?" * len(record))
    conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(record.values()))


def assignments(record: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """``"a = ?, b = ?"`` and its values, for an UPDATE whose WHERE the caller writes out
    (so every statement's scope stays visible in its own text). Our column names only."""
    return ", ".join(f"{name} = ?" for name in record), tuple(record.values())
