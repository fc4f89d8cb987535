"""Start a run on the embedded runtime and follow it on the console, step by step.

The CLI's `run` verb and the demo both use it (the demo imports this, not the CLI's main,
so the two never import each other).
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from shared.domain.errors import BadRequest
from shared.domain.models import step_warnings
from shared.domain.states import RunStatus
from shared.handlers.dispatch import RunRequest, dispatch_run
from shared.handlers.services import Services


def run_and_wait(
    services: Services,
    org_slug: str,
    provider: str,
    domain: str,
    pipeline: str,
    start: date,
    end: date,
    parameters: dict[str, Any],
    *,
    trigger: str = "cli",
) -> int:
    org = services.store.get_org(org_slug)
    if org is None:
        raise BadRequest(f"organization {org_slug} does not exist (pipelines org create)")
    run = dispatch_run(
        services,
        org,
        RunRequest(org_slug, provider, domain, pipeline, start, end, parameters, trigger),
    )
    print(f"run {run.run_id}  {run.pipeline_ref}  {start} .. {end}")
    seen: dict[str, str] = {}
    while True:
        current = services.store.get_run(org_slug, run.run_id)
        assert current is not None
        for step in current.steps.values():
            state = f"{step.status.value}{f' (attempt {step.attempt})' if step.attempt > 1 else ''}"
            if seen.get(step.step_id) != state:
                seen[step.step_id] = state
                detail = f"  rows={step.rows_written}" if step.status.terminal else ""
                error = f"  error: {step.error}" if step.error else ""
                print(f"  {step.step_id:<32} {state}{detail}{error}")
        if current.status.terminal:
            break
        time.sleep(0.05)
    print(f"run {current.status.value}" + (f": {current.error}" if current.error else ""))
    for warning in step_warnings(current.steps.values()):
        print(f"warning: {warning}")
    return 0 if current.status is RunStatus.COMPLETED else 1
