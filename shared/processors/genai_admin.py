"""``genai.openai_admin`` and ``genai.anthropic_admin``: usage and cost reports of the
providers' Admin APIs into ``genai_payg_usage_raw`` / ``genai_payg_costs_raw``.

One step = one report (``report: usage`` or ``costs``) = one table slice. Pages stream
straight into ``warehouse.replace_slice`` through a generator: rows are parsed as the
load serialises them, never collected in lists, and nothing is written unless every page
of every endpoint was fetched and parsed (a failure mid-way leaves the slice as it was).
Rerunning the same days replaces the same slice: no duplicates. A provider that sends a
result again (same endpoint, bucket start and group key, on a later page or the same one)
fails the step, retryably: a repeat is likely a glitch of the provider's paging, and
loading it would count it twice.

API shapes: ../shared/reference/SOURCES_AND_FOCUS.md section 3.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field, field_validator

from shared.adapters.http_pages import Fetcher, RetryPolicy
from shared.domain.credentials import Credential
from shared.domain.errors import StepFailure
from shared.domain.genai import (
    COSTS_RAW_COLUMNS,
    COSTS_RAW_TABLE,
    OPENAI_USAGE_ENDPOINTS,
    USAGE_RAW_COLUMNS,
    USAGE_RAW_TABLE,
    PageError,
    PagePosition,
    RepeatedResult,
    SeenResults,
    Window,
    anthropic_cost_rows,
    anthropic_usage_rows,
    openai_cost_rows,
    openai_usage_rows,
    with_lineage,
)
from shared.domain.sql import IDENTIFIER_RE
from shared.processors.base import (
    ProcessorConfig,
    StepContext,
    StepResult,
    parse_config,
    register,
)

OPENAI_BASE_URL = "https://api.openai.com/v1"  # a credential's base_url replaces it
ANTHROPIC_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"

Parser = Callable[[Any, PagePosition], Iterator[tuple[str, dict[str, Any]]]]
Request = tuple[str, list[tuple[str, str | int]], str, Parser]  # url, params, label, parser


class AdminReportConfig(ProcessorConfig):
    report: Literal["usage", "costs"]
    dataset: str = Field(pattern=IDENTIFIER_RE.pattern)
    # OpenAI usage endpoints to read (default: all of OPENAI_USAGE_ENDPOINTS).
    endpoints: list[str] | None = Field(default=None, min_length=1)
    page_limit: int = Field(default=31, ge=1, le=31)  # buckets per page (1d max is 31)
    max_attempts: int = Field(default=5, ge=1, le=10)  # per page, for 429/5xx/network
    backoff_seconds: float = Field(default=1.0, ge=0, le=60)
    max_delay_seconds: float = Field(default=60.0, ge=0, le=600)
    http_timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    @field_validator("endpoints")
    @classmethod
    def _known_endpoints(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            if name not in OPENAI_USAGE_ENDPOINTS:
                raise ValueError(
                    f"unknown endpoint {name!r}; known: {list(OPENAI_USAGE_ENDPOINTS)}"
                )
        return value


class _AdminReport:
    ps_type: ClassVar[str]
    provider: ClassVar[str]
    default_base_url: ClassVar[str]
    api_root: ClassVar[str]  # the endpoints' paths are below it
    sub_account: ClassVar[str]  # what results are grouped by first
    cost_line: ClassVar[str]  # what a cost report's results are grouped by next
    Config: ClassVar[type[ProcessorConfig]] = AdminReportConfig
    # The report a processor named for it reads (openai.usage); None: config.report says.
    fixed_report: ClassVar[Literal["usage", "costs"] | None] = None

    def headers(self, credential: Credential) -> dict[str, str]:
        raise NotImplementedError

    def time_span(self, window: Window) -> list[tuple[str, str | int]]:
        """The window as the API's two time parameters."""
        raise NotImplementedError

    def endpoints(
        self, config: AdminReportConfig, window: Window, seen: SeenResults
    ) -> list[tuple[str, Parser]]:
        """(path below ``api_root``, parser) of each endpoint ``config.report`` reads."""
        raise NotImplementedError

    def _given(self, ctx: StepContext) -> dict[str, Any]:
        """The step's config, with the report this processor is named for."""
        given = dict(ctx.config)
        fixed = self.fixed_report
        if fixed is not None and given.setdefault("report", fixed) != fixed:
            raise StepFailure(
                f"config.report: {self.ps_type} reads the {self.fixed_report} report",
                retryable=False,
            )
        return given

    def requests(
        self, base: str, config: AdminReportConfig, window: Window, seen: SeenResults
    ) -> list[Request]:
        """Daily buckets, grouped by sub-account and by model (usage) or cost line (costs);
        each endpoint's path is also its label."""
        params: list[tuple[str, str | int]] = [
            *self.time_span(window),
            ("bucket_width", "1d"),
            ("limit", config.page_limit),
            ("group_by[]", self.sub_account),
            ("group_by[]", self.cost_line if config.report == "costs" else "model"),
        ]
        return [
            (f"{base}{self.api_root}/{path}", params, path, parse)
            for path, parse in self.endpoints(config, window, seen)
        ]

    def run(self, ctx: StepContext) -> StepResult:
        config = parse_config(AdminReportConfig, self._given(ctx))
        credential = ctx.credential()
        window = Window(ctx.run.start_date, ctx.run.end_date)
        base = credential.base_url or self.default_base_url
        table, columns = (
            (USAGE_RAW_TABLE, USAGE_RAW_COLUMNS)
            if config.report == "usage"
            else (COSTS_RAW_TABLE, COSTS_RAW_COLUMNS)
        )
        lineage = ctx.lineage(self.provider)
        pages: Counter[str] = Counter()
        totals: dict[str, Decimal] = {}
        seen = SeenResults()  # across every page of every endpoint of this step

        def rows(fetcher: Fetcher) -> Iterator[dict[str, Any]]:
            for url, params, label, parse in self.requests(base, config, window, seen):
                for pos, page in fetcher.pages(url, params, label):
                    pages[label] += 1
                    try:
                        for _, row in parse(page, pos):
                            if "amount" in row:
                                totals[row["currency"]] = (
                                    totals.get(row["currency"], Decimal(0)) + row["amount"]
                                )
                            day = row.get("usage_date") or row["cost_date"]
                            yield with_lineage(row, day, lineage)
                    except RepeatedResult as exc:
                        raise StepFailure(f"repeated result: {exc}", retryable=True) from None
                    except PageError as exc:
                        raise StepFailure(f"malformed page: {exc}", retryable=False) from None

        with httpx.Client(timeout=config.http_timeout_seconds) as client:
            fetcher = Fetcher(
                client,
                self.headers(credential),
                RetryPolicy(config.max_attempts, config.backoff_seconds, config.max_delay_seconds),
                redact=(credential.api_key.reveal(),),
                should_stop=ctx.should_stop,
            )
            written = ctx.warehouse.replace_slice(
                config.dataset,
                table,
                columns,
                rows(fetcher),
                ctx.lineage_key,
                job_tag=f"{ctx.run.run_id}_{ctx.step_id}",
            )
        ctx.log(f"{self.provider} {config.report}: {sum(pages.values())} pages, {written} rows")
        metrics: dict[str, Any] = {"table": table, "pages": dict(pages)}
        if config.report == "costs":
            metrics["cost_totals"] = {cur: str(total) for cur, total in sorted(totals.items())}
        return StepResult(rows_written=written, metrics=metrics)


@register
class OpenAIAdminReport(_AdminReport):
    """OpenAI Admin API: /organization/usage/{endpoint} and /organization/costs."""

    ps_type: ClassVar[str] = "genai.openai_admin"
    provider: ClassVar[str] = "openai"
    default_base_url: ClassVar[str] = OPENAI_BASE_URL
    api_root: ClassVar[str] = "/organization"
    sub_account: ClassVar[str] = "project_id"
    cost_line: ClassVar[str] = "line_item"

    def headers(self, credential: Credential) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential.api_key.reveal()}"}

    def time_span(self, window: Window) -> list[tuple[str, str | int]]:
        return [
            ("start_time", int(window.start_at.timestamp())),
            ("end_time", int(window.end_at.timestamp())),
        ]

    def endpoints(
        self, config: AdminReportConfig, window: Window, seen: SeenResults
    ) -> list[tuple[str, Parser]]:
        if config.report == "costs":
            return [("costs", lambda page, pos: openai_cost_rows(page, pos, window, seen))]
        return [
            (f"usage/{name}", _usage_parser(name, window, seen))
            for name in config.endpoints or OPENAI_USAGE_ENDPOINTS
        ]


def _usage_parser(endpoint: str, window: Window, seen: SeenResults) -> Parser:
    return lambda page, pos: openai_usage_rows(endpoint, page, pos, window, seen)


@register
class AnthropicAdminReport(_AdminReport):
    """Anthropic Admin API: usage_report/messages and cost_report."""

    ps_type: ClassVar[str] = "genai.anthropic_admin"
    provider: ClassVar[str] = "anthropic"
    default_base_url: ClassVar[str] = ANTHROPIC_BASE_URL
    api_root: ClassVar[str] = "/v1/organizations"
    sub_account: ClassVar[str] = "workspace_id"
    cost_line: ClassVar[str] = "description"

    def headers(self, credential: Credential) -> dict[str, str]:
        return {"x-api-key": credential.api_key.reveal(), "anthropic-version": ANTHROPIC_VERSION}

    def time_span(self, window: Window) -> list[tuple[str, str | int]]:
        return [
            ("starting_at", f"{window.start_at:%Y-%m-%dT%H:%M:%SZ}"),
            ("ending_at", f"{window.end_at:%Y-%m-%dT%H:%M:%SZ}"),
        ]

    def endpoints(
        self, config: AdminReportConfig, window: Window, seen: SeenResults
    ) -> list[tuple[str, Parser]]:
        if config.report == "costs":
            return [("cost_report", lambda page, pos: anthropic_cost_rows(page, pos, window, seen))]
        return [
            (
                "usage_report/messages",
                lambda page, pos: anthropic_usage_rows(page, pos, window, seen),
            )
        ]


# The names the product's documents give these jobs (CLIENT_CONTRACT.md).


@register
class OpenAIUsage(OpenAIAdminReport):
    """``openai.usage``: the OpenAI usage report (genai.openai_admin, report: usage)."""

    ps_type: ClassVar[str] = "openai.usage"
    fixed_report: ClassVar[Literal["usage", "costs"] | None] = "usage"


@register
class OpenAICost(OpenAIAdminReport):
    """``openai.cost``: the OpenAI costs report (genai.openai_admin, report: costs)."""

    ps_type: ClassVar[str] = "openai.cost"
    fixed_report: ClassVar[Literal["usage", "costs"] | None] = "costs"


@register
class AnthropicUsage(AnthropicAdminReport):
    """``anthropic.usage``: the Anthropic usage report (genai.anthropic_admin, usage)."""

    ps_type: ClassVar[str] = "anthropic.usage"
    fixed_report: ClassVar[Literal["usage", "costs"] | None] = "usage"
