"""The API's request and response bodies as pydantic models; openapi.py builds the
document's schemas from them.

Request models refuse unknown fields (``extra="forbid"``) and are strict: a JSON body is
validated as decoded, nothing is coerced. ``MESSAGES`` words the refusal of a field the
way the API always has; bodies.py turns a pydantic error into a BadRequest naming the
field's path, never echoing the input. Four bodies are checked by their handlers (the
CLI sends them the same dicts): their models here describe them, and a unit test keeps
the fields and the handlers' allowed keys in step.

Response models describe what the handlers' ``to_public()`` dicts hold; the bodies sent
are those dicts, unchanged (the OpenAPI fuzz suite checks every answer against these
schemas).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.config import JsonDict

from shared.domain.errors import BadRequest, shown
from shared.domain.notifications import EventType
from shared.domain.states import RunStatus

DateText = Annotated[str, Field(json_schema_extra={"format": "date"})]
Object = dict[str, Any]


class Body(BaseModel):
    """A request body: unknown fields refused, values as sent (no coercion)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    # field -> the message a bad value gets (the API's wording since before the models)
    MESSAGES: ClassVar[dict[str, str]] = {}
    # the field every refusal names, for a body whose fields only make sense together
    FIELD: ClassVar[str | None] = None


class Out(BaseModel):
    """A response body: exactly these fields."""

    model_config = ConfigDict(extra="forbid")


# --- request bodies ---------------------------------------------------------------------


class RunRequest(Body):
    """A run's window (``date``, or ``start_date`` and ``end_date``; default yesterday) and
    its parameters: in ``parameters``, or as further top-level fields (how the product's
    clients send them); the pipeline's parameter specs refuse unknown names."""

    model_config = ConfigDict(extra="allow", strict=True)

    MESSAGES: ClassVar[dict[str, str]] = {
        "date": "date must be a YYYY-MM-DD string",
        "start_date": "start_date must be a YYYY-MM-DD string",
        "end_date": "end_date must be a YYYY-MM-DD string",
        "parameters": "parameters must be an object",
    }
    parameters: Object = Field(default_factory=dict)  # first: checked first, as always
    date: DateText | None = None
    start_date: DateText | None = None
    end_date: DateText | None = None

    def run_parameters(self) -> dict[str, Any]:
        """``parameters`` and the top-level ones; a name given both ways is refused."""
        extra = dict(self.model_extra or {})
        if both := sorted(set(extra) & set(self.parameters)):
            raise BadRequest(
                f"parameter {shown(both[0])} is given twice (top level and in parameters)",
                field=f"parameters.{both[0]}",
            )
        return {**self.parameters, **extra}


class CancelRequest(Body):
    MESSAGES: ClassVar[dict[str, str]] = {
        "reason": "reason must be a non-empty string of at most 500 characters"
    }
    reason: Annotated[str, Field(max_length=500)] = "cancelled through the API"

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("blank")
        return value.strip()


class NotifyTestRequest(Body):
    MESSAGES: ClassVar[dict[str, str]] = {
        "event": f"event must be one of {', '.join(e.value for e in EventType)}"
    }
    event: str = Field("PIPELINE_FAILURE", description="An event type, e.g. PIPELINE_FAILURE")


def _a_string(schema: JsonDict) -> None:
    """Document an optional field refusing null as the string it must be when sent."""
    schema.pop("default", None)
    schema.pop("anyOf", None)
    schema["type"] = "string"


class TriggerRequest(Body):
    MESSAGES: ClassVar[dict[str, str]] = {"schedule_id": "schedule_id must be a string"}
    # Absent fires every due schedule; null is refused like any other non-string (and the
    # document shows a string, with no default).
    schedule_id: str | None = Field(
        None,
        description="Fire this schedule now; omit to fire every due schedule",
        json_schema_extra=_a_string,
    )

    @field_validator("schedule_id", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("null")
        return value


class OrgTarget(Body):
    """Exactly one of ``{"org": slug}`` or ``{"all": true}``."""

    MESSAGES: ClassVar[dict[str, str]] = {
        "org": 'body must be {"org": "<slug>"} or {"all": true}',
        "all": 'body must be {"org": "<slug>"} or {"all": true}',
    }
    FIELD: ClassVar[str | None] = "org"
    org: str | None = None
    all: bool | None = None


class ValidateRequest(Body):
    """Checked by discovery.would_admit."""

    pipeline: str = Field(description="provider/domain/pipeline")
    date: DateText | None = None
    start_date: DateText | None = None
    end_date: DateText | None = None
    parameters: Object | None = None


class BackfillRequest(Body):
    """Checked by backfill.start_backfill."""

    start_date: DateText
    end_date: DateText
    reprocess: Literal["none", "failed", "all"] = Field(
        "none",
        description="none: skip completed (and in-flight) days; failed: only days whose "
        "latest run failed or was cancelled; all: every day",
    )
    max_concurrent: int | None = Field(
        None, ge=1, description="at most the plan's concurrent limit"
    )
    parameters: Object | None = None


class ScheduleCreate(Body):
    """Checked by scheduler.create_schedule."""

    org_slug: str
    pipeline: str = Field(description="provider/domain/pipeline")
    cron: str | None = Field(None, description="5-field cron, UTC; defaults to the pipeline's")
    enabled: bool = True
    cron_expression: str | None = Field(None, description="the same as cron")
    is_enabled: bool | None = Field(None, description="the same as enabled")
    parameters: Object | None = None


class ScheduleUpdate(Body):
    """Checked by scheduler.update_schedule (cron_expression / is_enabled: the product's
    clients' names for cron / enabled; one of each pair)."""

    cron: str | None = None
    enabled: bool | None = None
    cron_expression: str | None = None
    is_enabled: bool | None = None
    parameters: Object | None = None


class NotificationOverride(Body):
    """Part of the root settings (configs/notifications/default.yml): enabled,
    cooldown_seconds, retry, events, email.to, slack.webhook_url,
    cost_threshold.daily/monthly (currency -> amount), anomaly.factor/min_amount.
    Mail-server keys are root-only. Checked by the notifier."""

    model_config = ConfigDict(extra="allow")


# --- responses --------------------------------------------------------------------------


class Health(Out):
    status: str
    runtime: str | None = None


class RunAccepted(Out):
    run_id: str
    status: RunStatus
    pipeline: str | None = Field(None, description="The pipeline's name")
    pipeline_ref: str | None = Field(None, description="provider/domain/pipeline")
    start_date: dt.date | None = None
    end_date: dt.date | None = None


class Step(Out):
    step_id: str
    status: Literal["pending", "running", "succeeded", "failed", "skipped", "cancelled"]
    attempt: int | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    error: str | None = None
    rows_written: int | None = None
    metrics: Object | None = None


class Run(Out):
    """The product's clients' PipelineRun and PipelineRunStatus, and this API's own fields."""

    run_id: str
    org_slug: str
    provider: str = Field(description="The vendor: openai for genai/payg/openai")
    domain: str
    pipeline: str = Field(description="The pipeline's name (openai)")
    pipeline_ref: str | None = Field(None, description="provider/domain/pipeline, as in URLs")
    pipeline_id: str | None = None
    status: RunStatus
    progress: float | None = Field(
        None, ge=0, le=1, description="Finished steps / steps (0.0 to 1.0)"
    )
    records_processed: int | None = Field(None, description="The rows the run's steps wrote")
    error_message: str | None = Field(None, description="Why it failed (the same as error)")
    completed_at: dt.datetime | None = Field(None, description="When it finished (finished_at)")
    trigger: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    credential_id: str | None = None
    parameters: Object | None = None
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    error: str | None = None
    warnings: list[str] | None = Field(
        None,
        description="What a completed run's steps flagged without failing, each as "
        "'step_id: warning' (e.g. every billing row read was outside the window)",
    )
    steps: list[Step]


class CancelledRun(Run):
    success: bool


class RunPage(Out):
    runs: list[Run]
    next_cursor: str | None
    next_before: dt.datetime | None = Field(None, description="legacy paging")


class Stamped(Out):
    """What happened to a run (or one of its steps) when."""

    at: dt.datetime | None = None
    step_id: str | None = None


class LogLine(Stamped):
    level: str | None = None
    message: str | None = None


class Transition(Stamped):
    from_status: str | None = None
    to_status: str | None = None
    reason: str | None = None


class OfRun(Out):
    """One list of a run's."""

    run_id: str


class LogList(OfRun):
    logs: list[LogLine]


class StepList(OfRun):
    steps: list[Step]


class TransitionList(OfRun):
    transitions: list[Transition]


class Parameter(Out):
    name: str
    type: str | None = None
    required: bool | None = None
    default: Any = None
    description: str | None = None
    choices: list[Any] | None = None


class Pipeline(Out):
    """The product's clients' PipelineConfig, and this API's own fields."""

    pipeline: str = Field(description="provider/domain/pipeline")
    pipeline_id: str | None = None
    name: str = Field(description="The pipeline's name (the last part of its path)")
    display_name: str = Field(description="Its human-readable name")
    description: str | None = None
    provider: str
    domain: str
    version: str | None = None
    schedule: str | None = None
    parameters: list[Parameter]
    steps: list[str] | None = None


class InvalidPipeline(Out):
    pipeline: str | None = None
    error: str | None = None


class PipelineList(Out):
    pipelines: list[Pipeline]
    invalid: list[InvalidPipeline]


class Reason(BaseModel):
    code: Literal["subscription", "parameters", "quota"]
    message: str


class Validation(Out):
    admitted: bool
    reasons: list[Reason]
    pipeline: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    parameters: Object | None = None
    quota: Object | None = None


class Schedule(Out):
    """The product's clients' PipelineSchedule, and this API's own fields."""

    schedule_id: str
    org_slug: str
    provider: str = Field(description="The vendor: openai for genai/payg/openai")
    domain: str
    pipeline: str = Field(description="The pipeline's name")
    pipeline_ref: str = Field(description="provider/domain/pipeline")
    cron_expression: str
    is_enabled: bool
    last_run_at: dt.datetime | None = None
    next_run_at: dt.datetime | None = None
    cron: str
    enabled: bool
    parameters: Object | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    next_fire_at: dt.datetime | None = None
    last_fire_at: dt.datetime | None = None
    last_run_id: str | None = None


class ScheduleList(Out):
    schedules: list[Schedule]


class Fire(Out):
    schedule_id: str
    fire_time: dt.datetime
    org_slug: str | None = None
    pipeline: str | None = None
    run_id: str
    status: Literal["queued", "dispatched", "failed"]
    attempts: int | None = None
    error: str | None = None


class UpdatedSchedule(Schedule):
    success: bool


class Queue(Out):
    due: list[Schedule]
    queued: list[Fire]
    schedules: list[Schedule]


class Fired(Out):
    run_id: str | None = Field(None, description="The run of the schedule asked for, if it fired")
    fired: list[Fire]


class Processed(Out):
    processed: list[Fire]
    backfills: list[Object]


class NotificationSettingsView(Out):
    effective: Object
    override: Object


class Delivery(Out):
    event: str | None = None
    channel: Literal["email", "slack"] | None = None
    target: str | None = None
    run_id: str | None = None
    status: Literal["sent", "failed", "suppressed"] | None = None
    attempts: int | None = None
    error: str | None = None
    at: dt.datetime | None = None


class DeliveryList(Out):
    deliveries: list[Delivery]


class BackfillDay(Out):
    date: dt.date | None = None
    run_id: str | None = None
    status: str | None = None


class Backfill(Out):
    backfill_id: str
    org_slug: str | None = None
    pipeline: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    reprocess: str | None = None
    max_concurrent: int | None = None
    parameters: Object | None = None
    created_at: dt.datetime | None = None
    done: bool
    blocked: str | None = None
    counts: dict[str, int]
    days: list[BackfillDay]
    skipped_days: list[dt.date] | None = None


class QuotaRow(BaseModel):
    org_slug: str | None = None
    bucket: str | None = None
    used: int | None = None
    limit: int | None = None
    current_used: int | None = None


class Released(BaseModel):
    org_slug: str | None = None
    run_id: str | None = None
    reason: str | None = None
    run_failed: bool | None = None


class QuotaJobReport(Out):
    orgs: list[QuotaRow] | None = None
    purged: int | None = None
    released: list[Released] | None = None


class Procedure(BaseModel):
    name: str
    file: str = Field(description="path under procedures/")
    exists: bool | None = None
    current: bool | None = None
    deployed_at: dt.datetime | None = None


class ProcedureList(BaseModel):
    org_slug: str | None = None
    dataset: str | None = None
    procedures: list[Procedure]


class SyncedProcedure(BaseModel):
    name: str
    file: str
    status: Literal["created", "updated", "unchanged"]


class SyncedOrg(BaseModel):
    org_slug: str
    dataset: str
    procedures: list[SyncedProcedure]


class ProcedureSyncReport(BaseModel):
    orgs: list[SyncedOrg]


class MigratedOrg(BaseModel):
    org_slug: str
    dataset: str
    statements: list[str]
    status: Literal["would_apply", "applied", "already_applied", "failed"]
    error: str | None = None


class MigrationReport(BaseModel):
    migration: str
    dry_run: bool
    orgs: list[MigratedOrg]


class Summary(BaseModel):
    org_slug: str
    start_date: dt.date
    end_date: dt.date
    runs: int
    failed: int
    deliveries: list[Delivery]


class SummaryReport(BaseModel):
    summaries: list[Summary]


class ErrorBody(Out):
    code: str = Field(
        description="Machine-readable: bad_request, unauthorized, not_found, conflict, "
        "quota_exceeded, ..."
    )
    message: str
    details: Object = Field(description="field names the offending input field, when there is one")


class Error(Out):
    """Every refusal: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody
