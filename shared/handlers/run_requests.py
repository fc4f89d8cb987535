"""Run requests that arrive over Pub/Sub: from other services and Cloud Scheduler ticks.

Body (JSON object)::

    {"org_slug": "acme", "pipeline": "provider/domain/pipeline",
     "run_id": "...",                       # optional
     "date": "YYYY-MM-DD" | "start_date"/"end_date",  # optional: default yesterday
     "parameters": {...}}                   # optional

These topics are reachable only by our own service accounts (IAM), so there is no API
key; the org must still exist and may run. A Cloud Scheduler job publishes the same
body on every tick, so the run id defaults to one derived from the Pub/Sub message id:
a redelivered message maps to the same run (dispatch is idempotent on run_id), a new
tick or a new request to a new run.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

from shared.domain.errors import BadRequest, NotFound
from shared.domain.models import Run
from shared.domain.run_window import parse_run_window
from shared.domain.sql import validate_org_slug
from shared.handlers.dispatch import RunRequest, dispatch_run
from shared.handlers.services import Services

_KEYS = frozenset(
    {"org_slug", "pipeline", "run_id", "date", "start_date", "end_date", "parameters"}
)
_RUN_ID_NAMESPACE = uuid.UUID("5b0f3a4e-8d0c-4c3e-9a57-6f1f4f0d8a11")


def parse_run_request(body: bytes, *, message_id: str, trigger: str, today: date) -> RunRequest:
    """The request in a message body; BadRequest (poison) naming the bad field."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise BadRequest(f"run request is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise BadRequest("run request must be a JSON object")
    unknown = sorted(set(payload) - _KEYS)
    if unknown:
        raise BadRequest(f"unknown field(s) in run request: {', '.join(unknown)}", field=unknown[0])
    org_slug = payload.get("org_slug")
    if not isinstance(org_slug, str):
        raise BadRequest("org_slug is required", field="org_slug")
    validate_org_slug(org_slug)
    pipeline = payload.get("pipeline")
    parts = pipeline.split("/") if isinstance(pipeline, str) else []
    if len(parts) != 3:
        raise BadRequest("pipeline must be 'provider/domain/pipeline'", field="pipeline")
    parameters = payload.get("parameters", {})
    if not isinstance(parameters, dict):
        raise BadRequest("parameters must be an object", field="parameters")
    run_id = payload.get("run_id")
    if run_id is None:
        run_id = str(uuid.uuid5(_RUN_ID_NAMESPACE, f"{trigger}:{message_id}"))
    elif not isinstance(run_id, str) or not 8 <= len(run_id) <= 128:
        raise BadRequest("run_id must be a string of 8 to 128 characters", field="run_id")
    start, end = parse_run_window(payload, today)
    provider, domain, name = parts
    return RunRequest(
        org_slug=org_slug,
        provider=provider,
        domain=domain,
        pipeline=name,
        start_date=start,
        end_date=end,
        parameters=parameters,
        trigger=trigger,
        run_id=run_id,
    )


def dispatch_requested(services: Services, request: RunRequest) -> Run:
    org = services.store.get_org(request.org_slug)
    if org is None:
        raise NotFound(f"org {request.org_slug} not found", org=request.org_slug)
    return dispatch_run(services, org, request)
