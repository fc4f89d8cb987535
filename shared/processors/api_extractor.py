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
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
from pydantic import Field, model_validator

from shared.adapters.files.billing_sources import service_account_info
from shared.adapters.google_auth import access_token
from shared.adapters.http_pages import Fetcher, RetryPolicy
from shared.domain.api_extract import (
    Answer,
    ApiSource,
    AuthSpec,
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
    load_result,
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
        config = parse_config(self.Config, ctx.config)
        assert isinstance(config, ApiExtractorConfig)
        access = _access(config, ctx)
        values = {str(k): str(v) for k, v in ctx.run.parameters.items() if v is not None}
        source: ApiSource = config
        if access.base_url:  # the credential's: a proxy, or a local test server
            request = config.request.model_copy(update={"base_url": access.base_url})
            source = config.model_copy(update={"request": request})
        try:
            planned = plan_requests(
                source, ctx.run.start_date, ctx.run.end_date, {**values, **access.values}
            )
        except ExtractError as exc:
            raise StepFailure(f"config: {exc}", retryable=False) from None
        tally = RowTally(ctx.run.start_date, ctx.run.end_date)
        pages = 0
        lineage = ctx.lineage(config.source_system or ctx.source_system)
        policy = RetryPolicy(config.max_attempts, config.backoff_seconds, config.max_delay_seconds)

        def rows(client: httpx.Client) -> Iterator[dict[str, Any]]:
            nonlocal pages
            for request in planned:
                fetcher = Fetcher(
                    client,
                    {**request.headers, **access.headers},
                    policy,
                    redact=access.hidden,
                    should_stop=ctx.should_stop,
                )
                for where, records in _pages(config, fetcher, request, access.params):
                    pages += 1
                    try:
                        for row in rows_of(config, records, where):
                            day = (
                                usage_day(row, config.usage_date)
                                if config.usage_date
                                else ctx.run.end_date  # a snapshot: the run's last day
                            )
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
        return load_result(ctx, tally, written, metrics, "the API returned no records")


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
            answer = Answer(fetched.body, len(records), fetched.link_next)
            page = next_page(config.pagination, page, answer, seen)
        except ExtractError as exc:
            raise StepFailure(f"{pos.at()}: {exc}", retryable=False) from None


class GcpApiExtractorConfig(ApiExtractorConfig):
    auth: AuthSpec = AuthSpec(type="google")

    @model_validator(mode="after")
    def _google_auth(self) -> GcpApiExtractorConfig:
        if self.auth.type not in ("google", "none"):
            raise ValueError("gcp.api_extractor authenticates as Google (auth.type google)")
        return self


@register
class GcpApiExtractor(ApiExtractor):
    """``gcp.api_extractor``: the same engine on Google APIs, as the org's service
    account (its key in the org's gcp credential) or application default credentials."""

    ps_type: ClassVar[str] = "gcp.api_extractor"
    Config: ClassVar[type[ProcessorConfig]] = GcpApiExtractorConfig


@dataclass(frozen=True, slots=True)
class Access:
    """How every request carries the org's credential, and what never to echo."""

    headers: dict[str, str] = field(default_factory=dict)
    params: list[tuple[str, str]] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)  # template names: auth_user
    hidden: tuple[str, ...] = ()
    base_url: str | None = None


def _access(config: ApiSource, ctx: StepContext) -> Access:
    auth = config.auth
    if auth.type == "none":
        return Access()
    credential = ctx.credential()
    base_url = credential.base_url
    if auth.type == "google":
        token = access_token(service_account_info(credential), auth.scopes)
        return Access({"Authorization": f"Bearer {token}"}, hidden=(token,), base_url=base_url)
    secret = credential.api_key.reveal()
    if auth.type == "bearer":
        return Access({"Authorization": f"Bearer {secret}"}, hidden=(secret,), base_url=base_url)
    if auth.type == "header":
        assert auth.name is not None
        return Access({auth.name: secret}, hidden=(secret,), base_url=base_url)
    if auth.type == "query":
        assert auth.name is not None
        return Access(params=[(auth.name, secret)], hidden=(secret,), base_url=base_url)
    user, sep, password = secret.partition(":")
    if not sep:
        raise StepFailure("the credential for basic auth must be 'user:password'", retryable=False)
    token = base64.b64encode(secret.encode()).decode()
    return Access(
        {"Authorization": f"Basic {token}"},
        values={"auth_user": user},
        hidden=tuple(h for h in (secret, token, password) if h),  # any part's echo is cut
        base_url=base_url,
    )
