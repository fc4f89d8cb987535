"""The HTTP API, independent of the web framework: (method, path, headers, body) -> response.

functions/api/main.py adapts a functions-framework (Flask) request to this.
Every error has one shape: ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from werkzeug.exceptions import MethodNotAllowed as RouteMethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import Map, Rule

from shared.adapters.outages import as_unavailable
from shared.domain.bodies import reject_unknown
from shared.domain.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PipelineError,
    shown,
)
from shared.domain.models import Run
from shared.domain.run_window import parse_date, parse_run_window
from shared.domain.states import RunStatus
from shared.handlers import backfill, cost_alerts, maintenance, notify, procedures, scheduler
from shared.handlers.access import authenticate_key, authenticate_root
from shared.handlers.cancel import cancel_run
from shared.handlers.discovery import list_pipelines, would_admit
from shared.handlers.dispatch import RunRequest, authenticate, dispatch_run
from shared.handlers.focus_export import CONTENT_TYPES, export_focus
from shared.handlers.services import Services

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
OPENAPI_FILE = Path(__file__).resolve().parent / "openapi.json"
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
    body: dict[str, Any]  # sent as JSON unless ``raw`` is set
    raw: bytes | None = None  # a non-JSON body (a file download), sent as is
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


Route = Callable[[Services, HttpRequest, Mapping[str, Any]], HttpResponse]

_URLS = Map(
    [
        Rule("/health", endpoint="health", methods=["GET"]),
        Rule("/openapi.json", endpoint="openapi", methods=["GET"]),
        Rule(
            "/api/v1/pipelines/run/<org>/<provider>/<domain>/<pipeline>",
            endpoint="run",
            methods=["POST"],
        ),
        Rule("/api/v1/pipelines/status/<org>/<run_id>", endpoint="status", methods=["GET"]),
        Rule("/api/v1/pipelines/history/<org>", endpoint="history", methods=["GET"]),
        Rule("/api/v1/pipelines/runs", endpoint="runs", methods=["GET"]),
        Rule("/api/v1/pipelines/runs/<run_id>", endpoint="run_detail", methods=["GET"]),
        Rule("/api/v1/pipelines/logs/<org>/<run_id>", endpoint="logs", methods=["GET"]),
        Rule("/api/v1/pipelines/logs/<org>/<run_id>/steps", endpoint="log_steps", methods=["GET"]),
        Rule(
            "/api/v1/pipelines/logs/<org>/<run_id>/transitions",
            endpoint="log_transitions",
            methods=["GET"],
        ),
        Rule(
            "/api/v1/pipelines/logs/<org>/<run_id>/download",
            endpoint="log_download",
            methods=["GET"],
        ),
        Rule("/api/v1/pipelines/cancel/<org>/<run_id>", endpoint="cancel", methods=["POST"]),
        Rule(
            "/api/v1/pipelines/backfill/<org>/<provider>/<domain>/<pipeline>",
            endpoint="backfill",
            methods=["POST"],
        ),
        Rule(
            "/api/v1/pipelines/backfill/<org>/<backfill_id>",
            endpoint="backfill_progress",
            methods=["GET"],
        ),
        Rule("/api/v1/focus/export/<org>", endpoint="focus_export", methods=["GET"]),
        Rule("/api/v1/validator/pipelines", endpoint="catalog", methods=["GET"]),
        Rule("/api/v1/validator/pipelines/<provider>", endpoint="catalog", methods=["GET"]),
        Rule("/api/v1/validator/validate/<org>", endpoint="validate", methods=["POST"]),
        Rule("/api/v1/notifications/<org>/settings", endpoint="notify_settings", methods=["GET"]),
        Rule(
            "/api/v1/notifications/<org>/settings",
            endpoint="notify_settings_update",
            methods=["PUT"],
        ),
        Rule(
            "/api/v1/notifications/<org>/deliveries",
            endpoint="notify_deliveries",
            methods=["GET"],
        ),
        Rule("/api/v1/notifications/<org>/test", endpoint="notify_test", methods=["POST"]),
        Rule("/api/v1/admin/quotas/<job>", endpoint="quota_job", methods=["POST"]),
        Rule("/api/v1/scheduler/schedules", endpoint="schedules", methods=["GET"]),
        Rule("/api/v1/scheduler/schedules", endpoint="schedule_create", methods=["POST"]),
        Rule("/api/v1/scheduler/schedule/<schedule_id>", endpoint="schedule", methods=["GET"]),
        Rule(
            "/api/v1/scheduler/schedule/<schedule_id>", endpoint="schedule_update", methods=["PUT"]
        ),
        Rule("/api/v1/scheduler/queue", endpoint="scheduler_queue", methods=["GET"]),
        Rule("/api/v1/scheduler/trigger", endpoint="scheduler_trigger", methods=["POST"]),
        Rule("/api/v1/scheduler/process-queue", endpoint="process_queue", methods=["POST"]),
        Rule(
            "/api/v1/admin/notifications/summary/<period>",
            endpoint="notify_summary",
            methods=["POST"],
        ),
        Rule("/api/v1/procedures", endpoint="procedures", methods=["GET"]),
        Rule("/api/v1/procedures/sync", endpoint="procedures_sync", methods=["POST"]),
        Rule("/api/v1/migrations/<name>/execute", endpoint="migration_execute", methods=["POST"]),
    ],
    strict_slashes=False,
    # No redirects: werkzeug answers "//" in a path with a RequestRedirect, which is not
    # an error this API has; an empty segment simply matches no route (404).
    merge_slashes=False,
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
    except Exception as exc:
        if (outage := as_unavailable(exc)) is not None:  # a dead store or client: 503
            log.warning("%s %s: %s", request.method, request.path, outage.message)
            return _error(outage)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error(PipelineError("internal error; the request was not applied"))


def _error(exc: PipelineError) -> HttpResponse:
    return HttpResponse(exc.http_status, exc.to_dict())


def _health(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    return HttpResponse(200, {"status": "ok", "runtime": services.settings.runtime})


def _openapi(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    return HttpResponse(200, openapi_document())


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3 document kept next to this module (tests keep it in step with routes)."""
    document: dict[str, Any] = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    return document


def routes() -> set[tuple[str, str]]:
    """Every (method, path) served, paths in OpenAPI form (``{org}``)."""
    return {
        (method, re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule))
        for rule in _URLS.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def _run(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    body = _json_body(request)
    reject_unknown(body, RUN_BODY_KEYS)
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
        raise NotFound(f"run {shown(args['run_id'], quote=False)} not found")
    return HttpResponse(200, run.to_public())


def _history(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    return HttpResponse(200, _runs_page(services, org.org_slug, request.query))


def _runs(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    org = authenticate_key(services, request.headers.get("x-api-key"))
    return HttpResponse(200, _runs_page(services, org.org_slug, request.query))


def _run_detail(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    org = authenticate_key(services, request.headers.get("x-api-key"))
    return HttpResponse(200, _org_run(services, org.org_slug, args["run_id"]).to_public())


def _runs_page(services: Services, org_slug: str, query: Mapping[str, str]) -> dict[str, Any]:
    """One page of an org's runs, newest first; ``cursor`` (or legacy ``before``) pages."""
    limit = _int_param(query, "limit", default=20, low=1, high=200)
    status = query.get("status")
    if status is not None and status not in RunStatus.__members__.values():
        raise BadRequest(
            f"status must be one of {', '.join(s.value for s in RunStatus)}", field="status"
        )
    before, before_run_id = None, None
    if "cursor" in query:
        before, before_run_id = _decode_cursor(query["cursor"])
    elif "before" in query:
        try:
            before = _aware(datetime.fromisoformat(query["before"]))
        except ValueError:
            raise BadRequest("before must be an ISO-8601 timestamp", field="before") from None
    runs = services.store.list_runs(
        org_slug,
        provider=query.get("provider"),
        status=RunStatus(status) if status else None,
        limit=limit + 1,
        before=before,
        before_run_id=before_run_id,
    )
    page, more = runs[:limit], len(runs) > limit
    return {
        "runs": [r.to_public() for r in page],
        "next_cursor": _encode_cursor(page[-1]) if more else None,
        "next_before": page[-1].created_at.isoformat() if more else None,  # legacy paging
    }


def _encode_cursor(run: Run) -> str:
    raw = f"{run.created_at.isoformat()}|{run.run_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, run_id = text.split("|", 1)
        return _aware(datetime.fromisoformat(created)), run_id
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise BadRequest("cursor is not a cursor this API returned", field="cursor") from None


def _aware(value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise ValueError("timestamp needs a UTC offset")
    return value


def _org_run(services: Services, org_slug: str, run_id: str) -> Run:
    run = services.store.get_run(org_slug, run_id)
    if run is None:
        raise NotFound(f"run {shown(run_id, quote=False)} not found", run_id=run_id)
    return run


def _logs(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    run = _org_run(services, org.org_slug, args["run_id"])
    entries = services.store.list_logs(org.org_slug, run.run_id)
    return HttpResponse(
        200,
        {
            "run_id": run.run_id,
            "logs": [
                {
                    "at": e.at.isoformat(),
                    "step_id": e.step_id,
                    "level": e.level,
                    "message": e.message,
                }
                for e in entries
            ],
        },
    )


def _log_steps(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    public = _org_run(services, org.org_slug, args["run_id"]).to_public()
    return HttpResponse(200, {"run_id": public["run_id"], "steps": public["steps"]})


def _log_transitions(
    services: Services, request: HttpRequest, args: Mapping[str, Any]
) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    run = _org_run(services, org.org_slug, args["run_id"])
    return HttpResponse(
        200,
        {
            "run_id": run.run_id,
            "transitions": [
                {
                    "at": t.at.isoformat(),
                    "step_id": t.step_id,
                    "from_status": t.from_status,
                    "to_status": t.to_status,
                    "reason": t.reason,
                }
                for t in services.store.list_transitions(org.org_slug, run.run_id)
            ],
        },
    )


def _log_download(
    services: Services, request: HttpRequest, args: Mapping[str, Any]
) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    run = _org_run(services, org.org_slug, args["run_id"])
    lines = [f"# run {run.run_id} {run.pipeline_ref} {run.status.value}"]
    lines += [
        f"{e.at.isoformat()} {e.level:<7} [{e.step_id or 'run'}] {e.message}"
        for e in services.store.list_logs(org.org_slug, run.run_id)
    ]
    return HttpResponse(
        200,
        {},
        raw=("\n".join(lines) + "\n").encode(),
        content_type="text/plain; charset=utf-8",
        # run ids are UUIDs or derived ids of [a-z0-9-]: safe inside the quoted filename
        headers={"Content-Disposition": f'attachment; filename="{run.run_id}.log"'},
    )


FOCUS_EXPORT_PARAMS = frozenset({"format", "start", "end", "source"})


def _focus_export(
    services: Services, request: HttpRequest, args: Mapping[str, Any]
) -> HttpResponse:
    """The org's FOCUS rows as a file FinOps tools read (?format=csv|parquet, start, end,
    source), built in memory: one org's rows for a bounded window."""
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    query = request.query
    reject_unknown(query, FOCUS_EXPORT_PARAMS, what="query parameter(s)")
    fmt = query.get("format", "csv")
    start, end = (parse_date(query[k], k) if k in query else None for k in ("start", "end"))
    out = io.BytesIO()
    export_focus(
        services.warehouse,
        services.settings.org_dataset(org.org_slug),
        org.org_slug,
        out,
        fmt,
        start=start,
        end=end,
        source_system=query.get("source"),
    )
    return HttpResponse(
        200,
        {},
        raw=out.getvalue(),
        content_type=CONTENT_TYPES[fmt],
        # org slugs are validated [a-z0-9_]: safe inside the quoted filename
        headers={"Content-Disposition": f'attachment; filename="{org.org_slug}_focus_1_3.{fmt}"'},
    )


def _cancel(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    body = _json_body(request)
    reject_unknown(body, {"reason"})
    reason = body.get("reason", "cancelled through the API")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise BadRequest(
            "reason must be a non-empty string of at most 500 characters", field="reason"
        )
    run = cancel_run(services, org.org_slug, args["run_id"], reason=reason.strip())
    return HttpResponse(200, run.to_public())


def _backfill(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    started = backfill.start_backfill(
        services, org, args["provider"], args["domain"], args["pipeline"], _json_body(request)
    )
    return HttpResponse(202, started.to_public())


def _backfill_progress(
    services: Services, request: HttpRequest, args: Mapping[str, Any]
) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    return HttpResponse(
        200, backfill.progress(services, org.org_slug, args["backfill_id"]).to_public()
    )


def _catalog(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    return HttpResponse(200, list_pipelines(services, args.get("provider")))


def _validate(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    return HttpResponse(200, would_admit(services, org, _json_body(request)))


def _notify_settings(
    services: Services, request: HttpRequest, args: Mapping[str, Any]
) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    sink = notify.notifier(services)
    return HttpResponse(
        200,
        notify.public_settings(
            sink.settings_for(org.org_slug), sink.store.get_org_settings(org.org_slug)
        ),
    )


def _notify_settings_update(
    services: Services, request: HttpRequest, args: Mapping[str, Any]
) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    override = _json_body(request)
    sink = notify.notifier(services)
    merged = sink.set_org_settings(org.org_slug, override)
    return HttpResponse(200, notify.public_settings(merged, override))


def _notify_deliveries(
    services: Services, request: HttpRequest, args: Mapping[str, Any]
) -> HttpResponse:
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    limit = _int_param(request.query, "limit", default=50, low=1, high=500)
    found = notify.notifier(services).store.list_deliveries(org.org_slug, limit=limit)
    return HttpResponse(200, {"deliveries": [d.to_public() for d in found]})


def _notify_test(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    """Deliver a sample event now through the org's settings (cooldown applies)."""
    org = authenticate(services, args["org"], request.headers.get("x-api-key"))
    body = _json_body(request)
    reject_unknown(body, {"event"})
    sent = notify.send_test(services, org.org_slug, body.get("event", "PIPELINE_FAILURE"))
    return HttpResponse(200, {"deliveries": [d.to_public() for d in sent]})


def _quota_job(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    """The quota upkeep jobs, for Cloud Scheduler: daily 00:00 UTC, monthly on the 1st,
    stale sweep every 15 minutes."""
    authenticate_root(request.headers.get("x-ca-root-key"))
    job = args["job"]
    if job == "reset-daily":
        return HttpResponse(
            200, {"orgs": maintenance.as_dicts(maintenance.reset_daily_quotas(services))}
        )
    if job == "reset-monthly":
        report, purged = maintenance.reset_monthly_quotas(services)
        return HttpResponse(200, {"orgs": maintenance.as_dicts(report), "purged": purged})
    if job == "reset-stale":
        swept = maintenance.reset_stale_concurrent_counts(services)
        return HttpResponse(200, {"released": maintenance.as_dicts(swept)})
    raise BadRequest(
        "job must be reset-daily, reset-monthly or reset-stale",
        field="job",
        allowed=["reset-daily", "reset-monthly", "reset-stale"],
    )


def _schedules(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    authenticate_root(request.headers.get("x-ca-root-key"))
    found = scheduler.list_schedules(services, request.query.get("org"))
    return HttpResponse(200, {"schedules": [s.to_public() for s in found]})


def _schedule_create(
    services: Services, request: HttpRequest, args: Mapping[str, Any]
) -> HttpResponse:
    authenticate_root(request.headers.get("x-ca-root-key"))
    return HttpResponse(201, scheduler.create_schedule(services, _json_body(request)).to_public())


def _schedule(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    authenticate_root(request.headers.get("x-ca-root-key"))
    return HttpResponse(200, scheduler.get_schedule(services, args["schedule_id"]).to_public())


def _schedule_update(
    services: Services, request: HttpRequest, args: Mapping[str, Any]
) -> HttpResponse:
    authenticate_root(request.headers.get("x-ca-root-key"))
    body = _json_body(request)
    return HttpResponse(
        200, scheduler.update_schedule(services, args["schedule_id"], body).to_public()
    )


def _scheduler_queue(
    services: Services, request: HttpRequest, args: Mapping[str, Any]
) -> HttpResponse:
    authenticate_root(request.headers.get("x-ca-root-key"))
    return HttpResponse(200, scheduler.queue(services))


def _scheduler_trigger(
    services: Services, request: HttpRequest, args: Mapping[str, Any]
) -> HttpResponse:
    """Body {"schedule_id": ...} fires that one now; an empty body fires every due one."""
    authenticate_root(request.headers.get("x-ca-root-key"))
    body = _json_body(request)
    reject_unknown(body, {"schedule_id"})
    if "schedule_id" in body:
        if not isinstance(body["schedule_id"], str):
            raise BadRequest("schedule_id must be a string", field="schedule_id")
        fire = scheduler.trigger(services, body["schedule_id"])
        fired = [fire] if fire else []
    else:
        fired = scheduler.tick(services)
    return HttpResponse(200, {"fired": [f.to_public() for f in fired]})


def _process_queue(
    services: Services, request: HttpRequest, args: Mapping[str, Any]
) -> HttpResponse:
    authenticate_root(request.headers.get("x-ca-root-key"))
    fires = scheduler.process_queue(services)
    backfills = backfill.advance_open(services)  # backfills move on the same tick
    return HttpResponse(
        200,
        {
            "processed": [f.to_public() for f in fires],
            "backfills": [
                {"backfill_id": b.backfill.backfill_id, "done": b.done, **b.counts()}
                for b in backfills
            ],
        },
    )


def _notify_summary(
    services: Services, request: HttpRequest, args: Mapping[str, Any]
) -> HttpResponse:
    """SUMMARY_SCHEDULED to every org that routes it: Cloud Scheduler calls day daily
    and week weekly; a repeat for the same period is suppressed by its cooldown."""
    authenticate_root(request.headers.get("x-ca-root-key"))
    sent = cost_alerts.send_summaries(services, args["period"])
    return HttpResponse(200, {"summaries": [s.to_public() for s in sent]})


def _procedures(services: Services, request: HttpRequest, args: Mapping[str, Any]) -> HttpResponse:
    authenticate_root(request.headers.get("x-ca-root-key"))
    return HttpResponse(200, procedures.list_procedures(services, request.query.get("org")))


def _procedures_sync(
    services: Services, request: HttpRequest, args: Mapping[str, Any]
) -> HttpResponse:
    """Body {"org": slug} syncs one org dataset, {"all": true} every org's."""
    authenticate_root(request.headers.get("x-ca-root-key"))
    org = _org_or_all(_json_body(request))
    return HttpResponse(200, {"orgs": procedures.sync_procedures(services, org)})


def _migration_execute(
    services: Services, request: HttpRequest, args: Mapping[str, Any]
) -> HttpResponse:
    """?dry_run=true renders and reports only; body as for procedures/sync."""
    authenticate_root(request.headers.get("x-ca-root-key"))
    dry_run = request.query.get("dry_run", "false").lower()
    if dry_run not in ("true", "false"):
        raise BadRequest("dry_run must be true or false", field="dry_run")
    org = _org_or_all(_json_body(request))
    report = procedures.run_migration(services, args["name"], org=org, dry_run=dry_run == "true")
    return HttpResponse(200, report)


def _org_or_all(body: dict[str, Any]) -> str | None:
    """The one org a body names, or None for {"all": true}; anything else is refused, so
    an empty body never reaches every dataset by accident."""
    reject_unknown(body, {"org", "all"})
    if body.get("all") is True and "org" not in body:
        return None
    org = body.get("org")
    if "all" in body or not isinstance(org, str) or not org:
        raise BadRequest('body must be {"org": "<slug>"} or {"all": true}', field="org")
    return org


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is larger than {MAX_BODY_BYTES} bytes")
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    except RecursionError:  # [[[[... within the size limit: json recurses per level
        raise BadRequest("body is nested too deeply to be a request") from None
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
    "openapi": _openapi,
    "run": _run,
    "status": _status,
    "history": _history,
    "runs": _runs,
    "run_detail": _run_detail,
    "logs": _logs,
    "log_steps": _log_steps,
    "log_transitions": _log_transitions,
    "log_download": _log_download,
    "cancel": _cancel,
    "focus_export": _focus_export,
    "catalog": _catalog,
    "validate": _validate,
    "backfill": _backfill,
    "backfill_progress": _backfill_progress,
    "notify_settings": _notify_settings,
    "notify_settings_update": _notify_settings_update,
    "notify_deliveries": _notify_deliveries,
    "notify_test": _notify_test,
    "quota_job": _quota_job,
    "schedules": _schedules,
    "schedule_create": _schedule_create,
    "schedule": _schedule,
    "schedule_update": _schedule_update,
    "scheduler_queue": _scheduler_queue,
    "scheduler_trigger": _scheduler_trigger,
    "process_queue": _process_queue,
    "notify_summary": _notify_summary,
    "procedures": _procedures,
    "procedures_sync": _procedures_sync,
    "migration_execute": _migration_execute,
}
