"""CredentialStore in SQLite: its own table in the state database (state.db).

Rows hold SecretBox ciphertext only; the key lives elsewhere (secret.key or KMS), so
a copy of the database alone reveals no secret.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from shared.adapters.sqlite.db import SqliteDatabase
from shared.domain.credentials import CredentialInfo, StoredCredential, validate_scope

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
        self._db = SqliteDatabase(path, _SCHEMA)

    def close(self) -> None:
        self._db.close()

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
        with self._db.write() as conn:
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
            self._db.connection()
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
            self._db.connection()
            .execute(
                "SELECT org_slug, provider, credential_id, metadata, created_at, updated_at"
                " FROM credentials WHERE org_slug = ? ORDER BY provider",
                (org_slug,),
            )
            .fetchall()
        )
        return [_info(row) for row in rows]

    def delete(self, org_slug: str, provider: str) -> bool:
        with self._db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM credentials WHERE org_slug = ? AND provider = ?", (org_slug, provider)
            )
            return cursor.rowcount > 0


def _info(row: sqlite3.Row) -> CredentialInfo:
    return CredentialInfo(
        org_slug=row["org_slug"],
        provider=row["provider"],
        credential_id=row["credential_id"],
        metadata=json.loads(row["metadata"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
    )
