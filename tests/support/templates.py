"""The template variables of a typical run (shared.domain.templates.build_variables)."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.domain.templates import build_variables


def run_variables(**overrides: Any) -> dict[str, str]:
    """build_variables for org acme_corp's run of February 2024 (``overrides`` replace any
    argument)."""
    args: dict[str, Any] = {
        "org_slug": "acme_corp",
        "env": "local",
        "project_id": "local",
        "start_date": date(2024, 2, 1),
        "end_date": date(2024, 3, 1),
        "run_id": "run-1",
        "pipeline_id": "billing",
        "credential_id": "cred-1",
    }
    return build_variables(**(args | overrides))
