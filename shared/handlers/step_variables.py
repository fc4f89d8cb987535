"""Template variables of a run: one place, used by validation and by the step runner."""

from __future__ import annotations

from shared.config.settings import Settings
from shared.domain.models import Run
from shared.domain.templates import build_variables


def step_variables(settings: Settings, run: Run) -> dict[str, str]:
    variables = build_variables(
        org_slug=run.org_slug,
        env=settings.env,
        project_id=settings.project_id,
        start_date=run.start_date,
        end_date=run.end_date,
        run_id=run.run_id,
        pipeline_id=run.pipeline_id,
        credential_id=run.credential_id,
    )
    # Where file-based sources find their inputs (e.g. a GenAI usage CSV); configs only.
    variables["pipelines_home"] = str(settings.home)
    if settings.files_root is not None:
        # The only directory run parameters may name local billing files in.
        variables["files_root"] = str(settings.files_root)
    return variables
