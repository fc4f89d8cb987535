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

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            home=Path(os.environ.get("PIPELINES_HOME", ".pipelines")).resolve(),
            env=os.environ.get("PIPELINES_ENV", "local"),
            project_id=validate_project_id(os.environ.get("PIPELINES_PROJECT_ID", "local")),
            runtime=os.environ.get("PIPELINES_RUNTIME", "embedded"),
        )

    def org_dataset(self, org_slug: str) -> str:
        return f"{org_slug}_{self.env}"
