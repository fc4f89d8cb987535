"""Runtime settings, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shared.domain.sql import validate_project_id


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path  # all embedded state: SQLite, DuckDB, key file
    env: str  # dataset suffix: {org_slug}_{env}
    project_id: str
    runtime: str  # embedded | emulators | gcp
    # A claimed step attempt is presumed dead this long after its timeout (its runner
    # crashed); then a redelivery may reclaim it. PIPELINES_LEASE_GRACE_SECONDS.
    lease_grace_seconds: int = 30
    # Local billing files (run parameters such as cur_uri) are read only below this
    # directory; None refuses local paths. PIPELINES_FILES_ROOT, by default
    # $PIPELINES_HOME/files on the embedded runtime and unset elsewhere.
    files_root: Path | None = None
    # How long one call to a backing service (BigQuery, Firestore) is retried before the
    # request answers 503 or the step attempt fails. PIPELINES_DEPENDENCY_DEADLINE_SECONDS.
    dependency_deadline_seconds: int = 60

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("PIPELINES_HOME", ".pipelines")).resolve()
        runtime = os.environ.get("PIPELINES_RUNTIME", "embedded")
        files_root = os.environ.get("PIPELINES_FILES_ROOT") or (
            str(home / "files") if runtime == "embedded" else None
        )
        return cls(
            home=home,
            env=os.environ.get("PIPELINES_ENV", "local"),
            project_id=validate_project_id(os.environ.get("PIPELINES_PROJECT_ID", "local")),
            runtime=runtime,
            lease_grace_seconds=_non_negative_int("PIPELINES_LEASE_GRACE_SECONDS", 30),
            files_root=Path(files_root).resolve() if files_root else None,
            dependency_deadline_seconds=(
                _non_negative_int("PIPELINES_DEPENDENCY_DEADLINE_SECONDS", 60) or 60
            ),
        )

    def org_dataset(self, org_slug: str) -> str:
        return f"{org_slug}_{self.env}"


def _non_negative_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a whole number of seconds") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r}: must not be negative")
    return value
