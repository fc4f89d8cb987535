"""``generic.api_extractor``: any JSON REST API, described in the step config, into a table.

The request plan, pagination and row mapping are pure (shared/domain/api_extract.py);
this module sends the requests (shared/adapters/http_pages.py: 429/5xx and network
errors retried with backoff, ``Retry-After`` honoured, other 4xx fail at once), and
streams the rows into ``warehouse.replace_slice``: one page in memory at a time, nothing
written unless every page was read and every record converted, and a rerun of the same
days replaces the same slice. Every record read is accounted for: written (inside the
window), counted out by day (outside it), or the step fails naming the record.

Config (beside :class:`~shared.domain.api_extract.ApiSource`'s fields): ``dataset``,
``table``, ``source_system`` (x_source_system; default the pipeline's provider) and
the retry policy. The org's credential for the pipeline's provider authenticates; its
``base_url`` (if set) replaces ``request.base_url``, e.g. for a proxy or a test server.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from pydantic import Field

from shared.adapters.http_pages import Fetcher, RetryPolicy
from shared.domain.api_extract import (
    ApiSource,
    ExtractError,
    Page,
    PlannedRequest,
    first_page,
    next_page,
    plan_requests,
    records_of,
    rows_of,
    usage_day,
)
from shared.domain.columns import Column
from shared.domain.errors import StepFailure
from shared.domain.focus import LINEAGE_COLUMNS
from shared.domain.genai import PagePosition, with_lineage
from shared.domain.row_accounting import RowTally
from shared.domain.sql import IDENTIFIER_RE
from shared.processors.base import (
    ProcessorConfig,
    StepContext,
    StepResult,
    parse_config,
    register,
)


class ApiExtractorConfig(ProcessorConfig, ApiSource):
    dataset: str = Field(pattern=IDENTIFIER_RE.pattern)
    table: str = Field(pattern=IDENTIFIER_RE.pattern)
    source_system: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,62}$")
    max_attempts: int = Field(default=5, ge=1, le=10)  # per page, for 429/5xx/network
    backoff_seconds: float = Field(default=1.0, ge=0, le=60)
    max_delay_seconds: float = Field(default=60.0, ge=0, le=600)
    http_timeout_seconds: float = Field(default=30.0, gt=0, le=300)


def output_columns(config: ApiSource) -> tuple[Column, ...]:
    """The table: the configured columns in their order, then the lineage."""
    return (
        *(Column(name, spec.type) for name, spec in config.columns.items()),
        *LINEAGE_COLUMNS,
    )


@register
class ApiExtractor:
    ps_type: ClassVar[str] = "generic.api_extractor"
    Config: ClassVar[type[ProcessorConfig]] = ApiExtractorConfig

    def run(self, ctx: StepContext) -> StepResult:
        config = parse_config(ApiExtractorConfig, ctx.config)
        credential = ctx.credential() if config.auth.type != "none" else None
        secret = credential.api_key.reveal() if credential is not None else ""
        auth_headers, auth_params, auth_user = _auth(config, secret)
        # An echoed key is cut from every message: raw, as its basic-auth token, and its
        # password part alone.
        hidden = tuple(
            h
            for h in (secret, base64.b64encode(secret.encode()).decode(), secret.partition(":")[2])
            if h
        )
        values = {str(k): str(v) for k, v in ctx.run.parameters.items() if v is not None}
        if auth_user is not None:
            values["auth_user"] = auth_user
        source = config
        if credential is not None and credential.base_url:
            source = config.model_copy(
                update={
                    "request": config.request.model_copy(update={"base_url": credential.base_url})
                }
            )
        try:
            planned = plan_requests(source, ctx.run.start_date, ctx.run.end_date, values)
        except ExtractError as exc:
            raise StepFailure(f"config: {exc}", retryable=False) from None
        tally = RowTally(ctx.run.start_date, ctx.run.end_date)
        pages = 0
        lineage = {
            "x_org_slug": ctx.run.org_slug,
            "x_pipeline_id": ctx.run.pipeline_id,
            "x_credential_id": ctx.run.credential_id,
            "x_run_id": ctx.run.run_id,
            "x_ingested_at": datetime.now(UTC),
            "x_source_system": config.source_system or ctx.source_system,
        }
        policy = RetryPolicy(config.max_attempts, config.backoff_seconds, config.max_delay_seconds)

        def rows(client: httpx.Client) -> Iterator[dict[str, Any]]:
            nonlocal pages
            for request in planned:
                fetcher = Fetcher(
                    client,
                    {**request.headers, **auth_headers},
                    policy,
                    redact=hidden,
                    should_stop=ctx.should_stop,
                )
                for where, records in _pages(config, fetcher, request, auth_params):
                    pages += 1
                    try:
                        for row in rows_of(config, records, where):
                            day = usage_day(row, config.usage_date)
                            tally.count(day, where, 0)
                            if tally.start <= day <= tally.end:
                                yield with_lineage(row, day, lineage)
                    except ExtractError as exc:
                        raise StepFailure(str(exc), retryable=False) from None

        columns = output_columns(config)
        # The config names the table: created on first use, widened when columns are added.
        ctx.warehouse.ensure_table(config.dataset, config.table, columns)
        with httpx.Client(timeout=config.http_timeout_seconds) as client:
            written = ctx.warehouse.replace_slice(
                config.dataset,
                config.table,
                columns,
                rows(client),
                ctx.lineage_key,
                job_tag=f"{ctx.run.run_id}_{ctx.step_id}",
            )
        if written != tally.in_window:
            raise StepFailure(
                f"read {tally.in_window} rows of the window but wrote {written}: rows were lost"
            )
        metrics: dict[str, Any] = {"table": config.table, "pages": pages, **tally.metrics()}
        ctx.log(f"{config.table}: {pages} pages, {tally.read} records, {written} rows written")
        if outside := tally.outside_summary():
            ctx.log(f"counted out: {outside}")
        if not written:
            metrics["warning"] = (
                tally.all_outside_warning() if outside else "the API returned no records"
            )
            ctx.log(f"warning: {metrics['warning']}")
        return StepResult(rows_written=written, metrics=metrics)


def _pages(
    config: ApiSource,
    fetcher: Fetcher,
    request: PlannedRequest,
    auth_params: list[tuple[str, str]],
) -> Iterator[tuple[str, list[Any]]]:
    """(where, records) of every page of one planned request, following its pagination."""
    page: Page | None = first_page(config.pagination, request.url, request.params)
    seen: set[str] = set()
    while page is not None:
        pos = PagePosition(request.label, page.number)
        fetched = fetcher.get_page(page.url, [*page.params, *auth_params], pos)
        try:
            records = list(records_of(fetched.body, config.records_path))
            yield pos.at(), records
            page = next_page(
                config.pagination, page, fetched.body, len(records), fetched.link_next, seen
            )
        except ExtractError as exc:
            raise StepFailure(f"{pos.at()}: {exc}", retryable=False) from None


def _auth(
    config: ApiSource, secret: str
) -> tuple[dict[str, str], list[tuple[str, str]], str | None]:
    """(headers, query parameters, basic-auth user) that carry the credential."""
    auth = config.auth
    if auth.type == "bearer":
        return {"Authorization": f"Bearer {secret}"}, [], None
    if auth.type == "header":
        assert auth.name is not None
        return {auth.name: secret}, [], None
    if auth.type == "query":
        assert auth.name is not None
        return {}, [(auth.name, secret)], None
    if auth.type == "basic":
        user, sep, _ = secret.partition(":")
        if not sep:
            raise StepFailure(
                "the credential for basic auth must be 'user:password'", retryable=False
            )
        token = base64.b64encode(secret.encode()).decode()
        return {"Authorization": f"Basic {token}"}, [], user
    return {}, [], None
