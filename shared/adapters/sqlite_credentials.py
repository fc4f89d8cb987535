"""CredentialStore in SQLite: its own table in the state database (state.db).

Rows hold SecretBox ciphertext only; the key lives elsewhere (secret.key or KMS), so
a copy of the database alone reveals no secret.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from shared.domain.credentials import CredentialInfo, StoredCredential, validate_scope

_BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS credentials (
    org_slug       TEXT NOT NULL,
    provider       TEXT NOT NULL,
    credential_id  TEXT NOT NULL,
    ciphertext     BLOB NOT NULL,
    metadata       TEXT NOT NULL,  -- JSON object, no secrets (e.g. base_url)
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (org_slug, provider)
);
"""


class SqliteCredentialStore:
    """The CredentialStore port on a SQLite file (one connection per thread, WAL)."""

    def __init__(self, path: Path | str) -> None:
        self._path = Path(path)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        conn = self._conn()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def put(
        self,
        org_slug: str,
        provider: str,
        credential_id: str,
        ciphertext: bytes,
        metadata: Mapping[str, str],
        at: datetime,
    ) -> None:
        validate_scope(org_slug, provider)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO credentials (org_slug, provider, credential_id, ciphertext, metadata,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (org_slug, provider) DO UPDATE SET"
                " credential_id = excluded.credential_id, ciphertext = excluded.ciphertext,"
                " metadata = excluded.metadata, updated_at = excluded.updated_at",
                (
                    org_slug,
                    provider,
                    credential_id,
                    ciphertext,
                    json.dumps(dict(metadata), sort_keys=True),
                    at.isoformat(),
                    at.isoformat(),
                ),
            )

    def get(self, org_slug: str, provider: str) -> StoredCredential | None:
        row = (
            self._conn()
            .execute(
                "SELECT * FROM credentials WHERE org_slug = ? AND provider = ?",
                (org_slug, provider),
            )
            .fetchone()
        )
        if row is None:
            return None
        return StoredCredential(info=_info(row), ciphertext=bytes(row["ciphertext"]))

    def list(self, org_slug: str) -> list[CredentialInfo]:
        rows = (
            self._conn()
            .execute(
                "SELECT org_slug, provider, credential_id, metadata, created_at, updated_at"
                " FROM credentials WHERE org_slug = ? ORDER BY provider",
                (org_slug,),
            )
            .fetchall()
        )
        return [_info(row) for row in rows]

    def delete(self, org_slug: str, provider: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM credentials WHERE org_slug = ? AND provider = ?", (org_slug, provider)
            )
            return cursor.rowcount > 0

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def _info(row: sqlite3.Row) -> CredentialInfo:
    return CredentialInfo(
        org_slug=row["org_slug"],
        provider=row["provider"],
        credential_id=row["credential_id"],
        metadata=json.loads(row["metadata"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
    )
