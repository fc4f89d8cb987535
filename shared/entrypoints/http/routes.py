"""Every route of the API, on the ``api`` Blueprint (operations.py), each a view of a few
lines over a handler. Errors are raised as PipelineError; app.py gives them one shape.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import flask

from shared.domain.bodies import reject_unknown
from shared.domain.errors import BadRequest, NotFound, shown
from shared.domain.models import Org, Run
from shared.domain.run_window import parse_date, parse_run_window
from shared.domain.states import RunStatus
from shared.entrypoints.http import models as m
from shared.entrypoints.http.bodies import described_body, int_param, parse_body
from shared.entrypoints.http.document import openapi_document
from shared.entrypoints.http.operations import (
    File,
    Query,
    api,
    operation,
    org_key,
    root_key,
    services,
)
from shared.handlers import backfill as backfills
from shared.handlers import cost_alerts, maintenance, notify, procedures, scheduler
from shared.handlers.cancel import cancel_run
from shared.handlers.discovery import list_pipelines, would_admit
from shared.handlers.dispatch import RunRequest, dispatch_run
from shared.handlers.focus_export import CONTENT_TYPES, export_focus

Json = tuple[dict[str, Any], int] | dict[str, Any]

RUN_PAGE_QUERY = (
    Query("provider", "Only runs of this provider"),
    Query("status", "Only runs in this status", {"$ref": "#/components/schemas/RunStatus"}),
    Query(
        "limit",
        "Page size (1-200, default 20)",
        {"type": "integer", "minimum": 1, "maximum": 200},
    ),
    Query("cursor", "next_cursor of the previous page"),
    Query(
        "before",
        "Legacy paging: runs created before this ISO-8601 timestamp",
        {"type": "string", "format": "date-time"},
    ),
)
FOCUS_EXPORT_QUERY = (
    Query(
        "format",
        "csv (default) or parquet",
        {"type": "string", "enum": ["csv", "parquet"], "default": "csv"},
    ),
    Query("start", "First x_pipeline_run_date (YYYY-MM-DD)", {"type": "string", "format": "date"}),
    Query("end", "Last x_pipeline_run_date (YYYY-MM-DD)", {"type": "string", "format": "date"}),
    Query("source", "Only rows of this x_source_system (gcp, aws, openai, ...)"),
)
QUOTA_JOBS = ["reset-daily", "reset-monthly", "reset-stale"]


@operation(
    "GET",
    "/health",
    operation_id="health",
    summary="Liveness",
    tag="system",
    answer="Up",
    response=m.Health,
)
def health() -> Json:
    return {"status": "ok", "runtime": services().settings.runtime}


@operation(
    "GET",
    "/openapi.json",
    operation_id="openapi",
    summary="This document",
    tag="system",
    answer="OpenAPI 3 document",
    response={"type": "object"},
)
def openapi() -> Json:
    return openapi_document()


@operation(
    "POST",
    "/api/v1/pipelines/run/<org>/<provider>/<domain>/<pipeline>",
    operation_id="runPipeline",
    summary="Run a pipeline",
    tag="pipelines",
    answer="Accepted; the run is under way",
    response=m.RunAccepted,
    status=202,
    body=m.RunRequest,
    errors=(403, 404, 429),
)
@org_key
def run(org: Org, provider: str, domain: str, pipeline: str) -> Json:
    body = parse_body(m.RunRequest)
    window = body.model_dump(include={"date", "start_date", "end_date"})
    start, end = parse_run_window(window, services().clock.now().date())
    request = RunRequest(
        org.org_slug, provider, domain, pipeline, start, end, body.run_parameters(), trigger="api"
    )
    started = dispatch_run(services(), org, request)
    return {
        "run_id": started.run_id,
        "status": started.status.value,
        "pipeline": pipeline,
        "pipeline_ref": started.pipeline_ref,
        "start_date": started.start_date.isoformat(),
        "end_date": started.end_date.isoformat(),
    }, 202


@operation(
    "GET",
    "/api/v1/pipelines/status/<org>/<run_id>",
    operation_id="runStatus",
    summary="A run and its steps",
    tag="pipelines",
    answer="The run",
    response=m.Run,
    errors=(400, 404),
)
@org_key
def status(org: Org, run_id: str) -> Json:
    found = services().store.get_run(org.org_slug, run_id)
    if found is None:
        raise NotFound(f"run {shown(run_id, quote=False)} not found")
    return found.to_public()


@operation(
    "GET",
    "/api/v1/pipelines/history/<org>",
    operation_id="runHistory",
    summary="The org's runs, newest first",
    tag="pipelines",
    answer="One page",
    response=m.RunPage,
    query=RUN_PAGE_QUERY,
    errors=(400,),
)
@org_key
def history(org: Org) -> Json:
    return _runs_page(org.org_slug, flask.request.args)


@operation(
    "GET",
    "/api/v1/pipelines/runs",
    operation_id="listRuns",
    summary="The API key's org's runs, newest first",
    tag="pipelines",
    answer="One page",
    response=m.RunPage,
    query=RUN_PAGE_QUERY,
    errors=(400,),
)
@org_key
def runs(org: Org) -> Json:
    return _runs_page(org.org_slug, flask.request.args)


@operation(
    "GET",
    "/api/v1/pipelines/runs/<run_id>",
    operation_id="getRun",
    summary="One run of the API key's org",
    tag="pipelines",
    answer="The run",
    response=m.Run,
    errors=(404,),
)
@org_key
def run_detail(org: Org, run_id: str) -> Json:
    return _org_run(org.org_slug, run_id).to_public()


def _runs_page(org_slug: str, query: Mapping[str, str]) -> dict[str, Any]:
    """One page of an org's runs, newest first; ``cursor`` (or legacy ``before``) pages."""
    limit = int_param(query, "limit", default=20, low=1, high=200)
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
    found = services().store.list_runs(
        org_slug,
        provider=query.get("provider"),
        status=RunStatus(status) if status else None,
        limit=limit + 1,
        before=before,
        before_run_id=before_run_id,
    )
    page, more = found[:limit], len(found) > limit
    return {
        "runs": [r.to_public() for r in page],
        "next_cursor": _encode_cursor(page[-1]) if more else None,
        "next_before": page[-1].created_at.isoformat() if more else None,  # legacy paging
    }


def _encode_cursor(last: Run) -> str:
    raw = f"{last.created_at.isoformat()}|{last.run_id}".encode()
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


def _org_run(org_slug: str, run_id: str) -> Run:
    found = services().store.get_run(org_slug, run_id)
    if found is None:
        raise NotFound(f"run {shown(run_id, quote=False)} not found", run_id=run_id)
    return found


@operation(
    "GET",
    "/api/v1/pipelines/logs/<org>/<run_id>",
    operation_id="runLogs",
    summary="A run's log lines",
    tag="logs",
    answer="Log lines in order",
    response=m.LogList,
    errors=(400, 404),
)
@org_key
def logs(org: Org, run_id: str) -> Json:
    found = _org_run(org.org_slug, run_id)
    entries = services().store.list_logs(org.org_slug, found.run_id)
    return {
        "run_id": found.run_id,
        "logs": [
            {"at": e.at.isoformat(), "step_id": e.step_id, "level": e.level, "message": e.message}
            for e in entries
        ],
    }


@operation(
    "GET",
    "/api/v1/pipelines/logs/<org>/<run_id>/steps",
    operation_id="runSteps",
    summary="A run's steps",
    tag="logs",
    answer="Steps in pipeline order",
    response=m.StepList,
    errors=(400, 404),
)
@org_key
def log_steps(org: Org, run_id: str) -> Json:
    public = _org_run(org.org_slug, run_id).to_public()
    return {"run_id": public["run_id"], "steps": public["steps"]}


@operation(
    "GET",
    "/api/v1/pipelines/logs/<org>/<run_id>/transitions",
    operation_id="runTransitions",
    summary="A run's state transitions",
    tag="logs",
    answer="Transitions in order",
    response=m.TransitionList,
    errors=(400, 404),
)
@org_key
def log_transitions(org: Org, run_id: str) -> Json:
    found = _org_run(org.org_slug, run_id)
    return {
        "run_id": found.run_id,
        "transitions": [
            {
                "at": t.at.isoformat(),
                "step_id": t.step_id,
                "from_status": t.from_status,
                "to_status": t.to_status,
                "reason": t.reason,
            }
            for t in services().store.list_transitions(org.org_slug, found.run_id)
        ],
    }


@operation(
    "GET",
    "/api/v1/pipelines/logs/<org>/<run_id>/download",
    operation_id="downloadLog",
    summary="The whole log as a text file",
    tag="logs",
    answer="The log (Content-Disposition: attachment)",
    response=File({"text/plain": {"type": "string"}}, 'attachment; filename="{run_id}.log"'),
    errors=(400, 404),
)
@org_key
def log_download(org: Org, run_id: str) -> flask.Response:
    found = _org_run(org.org_slug, run_id)
    lines = [f"# run {found.run_id} {found.pipeline_ref} {found.status.value}"]
    lines += [
        f"{e.at.isoformat()} {e.level:<7} [{e.step_id or 'run'}] {e.message}"
        for e in services().store.list_logs(org.org_slug, found.run_id)
    ]
    return flask.Response(
        "\n".join(lines) + "\n",
        content_type="text/plain; charset=utf-8",
        # run ids are UUIDs or derived ids of [a-z0-9-]: safe inside the quoted filename
        headers={"Content-Disposition": f'attachment; filename="{found.run_id}.log"'},
    )


@operation(
    "GET",
    "/api/v1/focus/export/<org>",
    operation_id="exportFocus",
    summary="The org's FOCUS 1.3 rows as a file FinOps tools read",
    tag="focus",
    description="CSV or Parquet in the FOCUS spec's column order, then the x_ columns; "
    "timestamps ISO 8601 UTC with a Z, JSON columns (Tags, SkuPriceDetails, ...) as JSON "
    "text.",
    answer="The file (Content-Disposition: attachment)",
    response=File(
        {
            "text/csv": {"type": "string"},
            "application/vnd.apache.parquet": {"type": "string", "format": "binary"},
        },
        'attachment; filename="{org}_focus_1_3.{format}"',
    ),
    query=FOCUS_EXPORT_QUERY,
    errors=(400,),
)
@org_key
def focus_export(org: Org) -> flask.Response:
    """The org's FOCUS rows as a file (built in memory: one org's rows, a bounded window)."""
    query = flask.request.args
    reject_unknown(query, [q.name for q in FOCUS_EXPORT_QUERY], what="query parameter(s)")
    fmt = query.get("format", "csv")
    start, end = (parse_date(query[k], k) if k in query else None for k in ("start", "end"))
    out = io.BytesIO()
    export_focus(
        services().warehouse,
        services().settings.org_dataset(org.org_slug),
        org.org_slug,
        out,
        fmt,
        start=start,
        end=end,
        source_system=query.get("source"),
    )
    return flask.Response(
        out.getvalue(),
        content_type=CONTENT_TYPES[fmt],
        # org slugs are validated [a-z0-9_]: safe inside the quoted filename
        headers={"Content-Disposition": f'attachment; filename="{org.org_slug}_focus_1_3.{fmt}"'},
    )


@operation(
    "POST",
    "/api/v1/pipelines/cancel/<org>/<run_id>",
    operation_id="cancelRun",
    summary="Cancel a run",
    tag="pipelines",
    answer="The cancelled run",
    response=m.CancelledRun,
    body=m.CancelRequest,
    errors=(404, 409),
)
@org_key
def cancel(org: Org, run_id: str) -> Json:
    body = parse_body(m.CancelRequest)
    cancelled = cancel_run(services(), org.org_slug, run_id, reason=body.reason)
    return {"success": True, **cancelled.to_public()}


@operation(
    "POST",
    "/api/v1/pipelines/backfill/<org>/<provider>/<domain>/<pipeline>",
    operation_id="startBackfill",
    summary="Backfill a date range, one run per day",
    tag="backfill",
    answer="Created; the first days are dispatched",
    response=m.Backfill,
    status=202,
    body=m.BackfillRequest,
    errors=(403, 404),
)
@org_key
def backfill(org: Org, provider: str, domain: str, pipeline: str) -> Json:
    body = described_body(m.BackfillRequest)
    started = backfills.start_backfill(services(), org, provider, domain, pipeline, body)
    return started.to_public(), 202


@operation(
    "GET",
    "/api/v1/pipelines/backfill/<org>/<backfill_id>",
    operation_id="backfillProgress",
    summary="A backfill's progress",
    tag="backfill",
    answer="Progress",
    response=m.Backfill,
    errors=(400, 404),
)
@org_key
def backfill_progress(org: Org, backfill_id: str) -> Json:
    return backfills.progress(services(), org.org_slug, backfill_id).to_public()


@operation(
    "GET",
    "/api/v1/validator/pipelines",
    operation_id="listPipelines",
    summary="Every pipeline with its parameters",
    tag="discovery",
    answer="The catalog",
    response=m.PipelineList,
)
@operation(
    "GET",
    "/api/v1/validator/pipelines/<provider>",
    operation_id="listProviderPipelines",
    summary="One provider's pipelines",
    tag="discovery",
    answer="The provider's pipelines",
    response=m.PipelineList,
    errors=(404,),
)
def catalog(provider: str | None = None) -> Json:
    return list_pipelines(services(), provider)


@operation(
    "POST",
    "/api/v1/validator/validate/<org>",
    operation_id="validateRun",
    summary="Would this run be admitted now? (reserves nothing)",
    tag="discovery",
    answer="The verdict and every reason",
    response=m.Validation,
    body=m.ValidateRequest,
    errors=(404,),
)
@org_key
def validate(org: Org) -> Json:
    return would_admit(services(), org, described_body(m.ValidateRequest))


@operation(
    "GET",
    "/api/v1/notifications/<org>/settings",
    operation_id="getNotificationSettings",
    summary="The org's notification settings (effective, and its own override)",
    tag="notifications",
    answer="Settings; webhook URLs redacted",
    response=m.NotificationSettingsView,
    errors=(400, 503),
)
@org_key
def notify_settings(org: Org) -> Json:
    sink = notify.notifier(services())
    return notify.public_settings(
        sink.settings_for(org.org_slug), sink.store.get_org_settings(org.org_slug)
    )


@operation(
    "PUT",
    "/api/v1/notifications/<org>/settings",
    operation_id="setNotificationSettings",
    summary="Replace the org's override of the root notification settings",
    tag="notifications",
    answer="The new settings",
    response=m.NotificationSettingsView,
    body=m.NotificationOverride,
    errors=(503,),
)
@org_key
def notify_settings_update(org: Org) -> Json:
    override = described_body(m.NotificationOverride)
    merged = notify.notifier(services()).set_org_settings(org.org_slug, override)
    return notify.public_settings(merged, override)


@operation(
    "GET",
    "/api/v1/notifications/<org>/deliveries",
    operation_id="listDeliveries",
    summary="Delivery history, newest first",
    tag="notifications",
    answer="Deliveries",
    response=m.DeliveryList,
    errors=(400, 503),
    query=(
        Query(
            "limit",
            "At most this many (1-500, default 50)",
            {"type": "integer", "minimum": 1, "maximum": 500},
        ),
    ),
)
@org_key
def notify_deliveries(org: Org) -> Json:
    limit = int_param(flask.request.args, "limit", default=50, low=1, high=500)
    found = notify.notifier(services()).store.list_deliveries(org.org_slug, limit=limit)
    return {"deliveries": [d.to_public() for d in found]}


@operation(
    "POST",
    "/api/v1/notifications/<org>/test",
    operation_id="testNotification",
    summary="Send a test notification now",
    tag="notifications",
    answer="What was delivered",
    response=m.DeliveryList,
    body=m.NotifyTestRequest,
    errors=(503,),
)
@org_key
def notify_test(org: Org) -> Json:
    """Deliver a sample event now through the org's settings (cooldown applies)."""
    body = parse_body(m.NotifyTestRequest)
    sent = notify.send_test(services(), org.org_slug, body.event)
    return {"deliveries": [d.to_public() for d in sent]}


@operation(
    "POST",
    "/api/v1/admin/quotas/<job>",
    operation_id="runQuotaJob",
    summary="Quota upkeep: reset-daily (close yesterday), reset-monthly (close last "
    "month, purge dead rows), reset-stale (release slots of finished or silent runs)",
    tag="admin",
    answer="The job's report",
    response=m.QuotaJobReport,
    errors=(400,),
)
@root_key
def quota_job(job: str) -> Json:
    """For Cloud Scheduler: daily 00:00 UTC, monthly on the 1st, stale every 15 minutes."""
    if job == "reset-daily":
        return {"orgs": maintenance.as_dicts(maintenance.reset_daily_quotas(services()))}
    if job == "reset-monthly":
        report, purged = maintenance.reset_monthly_quotas(services())
        return {"orgs": maintenance.as_dicts(report), "purged": purged}
    if job == "reset-stale":
        swept = maintenance.reset_stale_concurrent_counts(services())
        return {"released": maintenance.as_dicts(swept)}
    raise BadRequest(
        "job must be reset-daily, reset-monthly or reset-stale", field="job", allowed=QUOTA_JOBS
    )


@operation(
    "GET",
    "/api/v1/scheduler/schedules",
    operation_id="listSchedules",
    summary="List schedules",
    tag="scheduler",
    answer="Schedules by org and pipeline",
    response=m.ScheduleList,
    errors=(400, 404),
    query=(Query("org", "Only this org's schedules"),),
)
@root_key
def schedules() -> Json:
    found = scheduler.list_schedules(services(), flask.request.args.get("org"))
    return {"schedules": [scheduler.public(services(), s) for s in found]}


@operation(
    "POST",
    "/api/v1/scheduler/schedules",
    operation_id="createSchedule",
    summary="Create a schedule",
    tag="scheduler",
    answer="Created",
    response=m.Schedule,
    status=201,
    body=m.ScheduleCreate,
    errors=(404, 409),
)
@root_key
def schedule_create() -> Json:
    created = scheduler.create_schedule(services(), described_body(m.ScheduleCreate))
    return scheduler.public(services(), created), 201


@operation(
    "GET",
    "/api/v1/scheduler/schedule/<schedule_id>",
    operation_id="getSchedule",
    summary="One schedule",
    tag="scheduler",
    answer="The schedule",
    response=m.Schedule,
    errors=(404,),
)
@root_key
def schedule(schedule_id: str) -> Json:
    return scheduler.public(services(), scheduler.get_schedule(services(), schedule_id))


@operation(
    "PUT",
    "/api/v1/scheduler/schedule/<schedule_id>",
    operation_id="updateSchedule",
    summary="Change a schedule's cron, enabled or parameters",
    tag="scheduler",
    answer="The updated schedule",
    response=m.UpdatedSchedule,
    body=m.ScheduleUpdate,
    errors=(404,),
)
@root_key
def schedule_update(schedule_id: str) -> Json:
    body = described_body(m.ScheduleUpdate)
    updated = scheduler.update_schedule(services(), schedule_id, body)
    return {"success": True, **scheduler.public(services(), updated)}


@operation(
    "GET",
    "/api/v1/scheduler/queue",
    operation_id="schedulerQueue",
    summary="Due schedules, queued firings, and the schedules",
    tag="scheduler",
    answer="The queue",
    response=m.Queue,
    query=(Query("org", "Only this org's schedules (in schedules)"),),
)
@root_key
def scheduler_queue() -> Json:
    return scheduler.queue(services(), flask.request.args.get("org"))


@operation(
    "POST",
    "/api/v1/scheduler/trigger",
    operation_id="schedulerTrigger",
    summary="Fire one schedule now, or every due one (the tick)",
    tag="scheduler",
    answer="What fired (each firing at most once)",
    response=m.Fired,
    body=m.TriggerRequest,
    errors=(404,),
)
@root_key
def scheduler_trigger() -> Json:
    """Body {"schedule_id": ...} fires that one now; an empty body fires every due one."""
    body = parse_body(m.TriggerRequest)
    if body.schedule_id is not None:
        fire = scheduler.trigger(services(), body.schedule_id)
        fired = [fire] if fire else []
    else:
        fired = scheduler.tick(services())
    # run_id: the run of the schedule asked for (the product's clients read it), if it fired
    run_id = fired[0].run_id if body.schedule_id is not None and fired else None
    return {"run_id": run_id, "fired": [f.to_public() for f in fired]}


@operation(
    "POST",
    "/api/v1/scheduler/process-queue",
    operation_id="processQueue",
    summary="Dispatch queued firings again and advance open backfills",
    tag="scheduler",
    answer="What was processed",
    response=m.Processed,
)
@root_key
def process_queue() -> Json:
    fires = scheduler.process_queue(services())
    advanced = backfills.advance_open(services())  # backfills move on the same tick
    return {
        "processed": [f.to_public() for f in fires],
        "backfills": [
            {"backfill_id": b.backfill.backfill_id, "done": b.done, **b.counts()} for b in advanced
        ],
    }


@operation(
    "POST",
    "/api/v1/admin/notifications/summary/<period>",
    operation_id="sendSummaries",
    summary="SUMMARY_SCHEDULED to every org that routes it: runs, failures and billed "
    "cost per category of the last day (UTC) or the seven days ending yesterday; a repeat "
    "for the same period is suppressed",
    tag="admin",
    answer="One entry per org summarized, with its deliveries",
    response=m.SummaryReport,
    errors=(400,),
)
@root_key
def notify_summary(period: str) -> Json:
    """Cloud Scheduler calls day daily and week weekly."""
    sent = cost_alerts.send_summaries(services(), period)
    return {"summaries": [s.to_public() for s in sent]}


@operation(
    "GET",
    "/api/v1/procedures",
    operation_id="listProcedures",
    summary="Every stored procedure in procedures/; with ?org=, whether the org's dataset "
    "has it and whether the deployed body is the file's",
    tag="admin",
    answer="The procedures",
    response=m.ProcedureList,
    errors=(404,),
    query=(Query("org", "an org slug: adds exists/current/deployed_at per procedure"),),
    endpoint="procedures",
)
@root_key
def procedures_list() -> Json:
    return procedures.list_procedures(services(), flask.request.args.get("org"))


@operation(
    "POST",
    "/api/v1/procedures/sync",
    operation_id="syncProcedures",
    summary="Create or replace every procedure of procedures/ in one org's dataset or "
    "every org's; an unchanged body (same sha256 of the rendered SQL as recorded) is left "
    "alone",
    tag="admin",
    answer="Per org, each procedure created, updated or unchanged",
    response=m.ProcedureSyncReport,
    body=m.OrgTarget,
    body_required=True,
    errors=(404,),
)
@root_key
def procedures_sync() -> Json:
    """Body {"org": slug} syncs one org dataset, {"all": true} every org's."""
    return {"orgs": procedures.sync_procedures(services(), _org_or_all())}


@operation(
    "POST",
    "/api/v1/migrations/<name>/execute",
    operation_id="executeMigration",
    summary="Apply procedures/migrations/NNN_name.sql once to one org's dataset or every "
    "org's (recorded per dataset); dry_run=true renders the statements and touches nothing",
    tag="admin",
    answer="Per org: statements and status",
    response=m.MigrationReport,
    body=m.OrgTarget,
    body_required=True,
    errors=(404,),
    query=(
        Query(
            "dry_run",
            "true: report the statements each org would get, apply nothing",
            {"type": "string", "enum": ["true", "false"], "default": "false"},
        ),
    ),
)
@root_key
def migration_execute(name: str) -> Json:
    """?dry_run=true renders and reports only; body as for procedures/sync."""
    dry_run = flask.request.args.get("dry_run", "false").lower()
    if dry_run not in ("true", "false"):
        raise BadRequest("dry_run must be true or false", field="dry_run")
    report: dict[str, Any] = procedures.run_migration(
        services(), name, org=_org_or_all(), dry_run=dry_run == "true"
    )
    return report


def _org_or_all() -> str | None:
    """The one org the body names, or None for {"all": true}; anything else is refused,
    so an empty body never reaches every dataset by accident."""
    body = parse_body(m.OrgTarget)
    given = body.model_fields_set
    if body.all is True and "org" not in given:
        return None
    if "all" in given or not body.org:
        raise BadRequest(m.OrgTarget.MESSAGES["org"], field="org")
    return body.org


__all__ = ["api"]
