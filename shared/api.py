"""The HTTP API, independent of the web framework: (method, path, headers, body) -> response.

functions/api/main.py adapts a functions-framework (Flask) request to this.
Every error has one shape: ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from werkzeug.exceptions import MethodNotAllowed as RouteMethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import Map, Rule

from shared.domain.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PipelineError,
)
from shared.domain.run_window import parse_run_window
from shared.domain.states import RunStatus
from shared.handlers.dispatch import RunRequest, authenticate, dispatch_run
from shared.handlers.services import Services

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
RUN_BODY_KEYS = frozenset({"date", "start_date", "end_date", "parameters"})


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # names lower-cased
    query: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: dict[str, Any]


Route = Callable[[Services, HttpRequest, Mapping[str, Any]], HttpResponse]

_URLS = Map(
    [
        Rule("/health", endpoint="health", methods=["GET"]),
        Rule(
            "/api/v1/pipelines/run/<org>/<provider>/<domain>/<pipeline>",
            endpoint="run",
            methods=["POST"],
        ),
        Rule("/api/v1/pipelines/status/<org>/<run_id>", endpoint="status", methods=["GET"]),
        Rule("/api/v1/pipelines/history/<org>", endpoint="history", methods=["GET"]),
    ],
    strict_slashes=False,
)


def handle(services: Services, request: HttpRequest) -> HttpResponse:
    adapter = _URLS.bind("api", path_info=request.path)
    try:
        endpoint, args = adapter.match(request.path, method=request.method)
        return _ROUTES[endpoint](services, request, args)
    except RouteNotFound:
        return _error(NotFound(f"no route for {request.method} {request.path}"))
    except RouteMethodNotAllowed:
        return _error(MethodNotAllowed(f"{request.method} is not allowed on {request.path}"))
    except PipelineError as exc:
        return _error(exc)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error(PipelineError("internal error; the request was not applied"))


def _error(exc: PipelineError) -> HttpResponse:
    return HttpResponse(exc.http_status, exc.to_dict())


def _health(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    return HttpResponse(200, {"status": "ok", "runtime": services.settings.runtime})


def _run(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    body = _json_body(request)
    unknown = sorted(set(body) - RUN_BODY_KEYS)
    if unknown:
        raise BadRequest(
            f"unknown field(s) in body: {', '.join(unknown)}",
            field=unknown[0],
            allowed=sorted(RUN_BODY_KEYS),
        )
    parameters = body.get("parameters", {})
    if not isinstance(parameters, dict):
        raise BadRequest("parameters must be an object", field="parameters")
    start, end = parse_run_window(body, services.clock.now().date())
    run = dispatch_run(
        services,
        org,
        RunRequest(
            org_slug=org.org_slug,
            provider=args["provider"],
            domain=args["domain"],
            pipeline=args["pipeline"],
            start_date=start,
            end_date=end,
            parameters=parameters,
            trigger="api",
        ),
    )
    return HttpResponse(
        202,
        {
            "run_id": run.run_id,
            "status": run.status.value,
            "pipeline": run.pipeline_ref,
            "start_date": run.start_date.isoformat(),
            "end_date": run.end_date.isoformat(),
        },
    )


def _status(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    run = services.store.get_run(org.org_slug, args["run_id"])
    if run is None:
        raise NotFound(f"run {args['run_id']} not found")
    return HttpResponse(200, run.to_public())


def _history(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    query = request.query
    limit = _int_param(query, "limit", default=20, low=1, high=200)
    status = query.get("status")
    if status is not None and status not in RunStatus.__members__.values():
        raise BadRequest(
            f"status must be one of {', '.join(s.value for s in RunStatus)}", field="status"
        )
    before = None
    if "before" in query:
        try:
            before = datetime.fromisoformat(query["before"])
        except ValueError:
            raise BadRequest("before must be an ISO-8601 timestamp", field="before") from None
    runs = services.store.list_runs(
        org.org_slug,
        provider=query.get("provider"),
        status=RunStatus(status) if status else None,
        limit=limit + 1,
        before=before,
    )
    page, more = runs[:limit], len(runs) > limit
    return HttpResponse(
        200,
        {
            "runs": [r.to_public() for r in page],
            "next_before": page[-1].created_at.isoformat() if more else None,
        },
    )


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is larger than {MAX_BODY_BYTES} bytes")
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def _int_param(query: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer", field=name) from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}", field=name)
    return value


_ROUTES: dict[str, Route] = {
    "health": _health,
    "run": _run,
    "status": _status,
    "history": _history,
}
