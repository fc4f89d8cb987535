"""Template variables of a run: one place, used by validation and by the step runner."""

from __future__ import annotations

from shared.domain.models import Run
from shared.domain.templates import build_variables
from shared.settings import Settings


def step_variables(settings: Settings, run: Run) -> dict[str, str]:
    return build_variables(
        org_slug=run.org_slug,
        env=settings.env,
        project_id=settings.project_id,
        start_date=run.start_date,
        end_date=run.end_date,
        run_id=run.run_id,
        pipeline_id=run.pipeline_id,
        credential_id=run.credential_id,
    )
