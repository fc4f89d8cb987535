"""Generic GenAI pay-as-you-go processors, for providers without an Admin API adapter.

``genai.payg_usage`` reads a usage CSV file into ``genai_payg_usage_raw``.

Usage CSV schema (ours: DeepSeek documents no usage export, so we define one). UTF-8,
comma-separated, a header row naming the columns (any order); one row per day, model
and (optionally) sub-account; several rows for the same key add up:

=====================  ========  =============================================================
column                 required  meaning
=====================  ========  =============================================================
date                   yes       the UTC day, YYYY-MM-DD
model                  yes       the model name as billed, e.g. ``deepseek-chat``
sub_account_id         no        API key name / project the usage belongs to (empty = none)
input_tokens           no        uncached input tokens (DeepSeek: prompt_cache_miss_tokens)
cached_input_tokens    no        cache-hit input tokens (DeepSeek: prompt_cache_hit_tokens)
output_tokens          no        output tokens (DeepSeek: completion_tokens)
=====================  ========  =============================================================

Token counts are non-negative whole numbers; empty means 0. Unknown columns are an error
(a typo would otherwise drop usage silently). Rows outside the run's days are skipped and
counted in the step's metrics. Any bad row fails the step naming the file and line.

``genai.payg_cost`` prices usage with configs/pricing/genai_prices.yml: ``mode: price``
writes ``genai_payg_costs_raw`` for providers that report no cost (all usage must be
priced, or the step fails naming what is not); ``mode: cross_check`` compares the
provider's reported token costs with the price table and reports the difference in the
step's metrics (it writes nothing).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Literal, TextIO
from urllib.parse import unquote, urlsplit

from pydantic import Field

from shared.config.pricing import load_price_table
from shared.domain.errors import StepFailure
from shared.domain.genai import (
    COSTS_RAW_COLUMNS,
    COSTS_RAW_TABLE,
    TOKEN_TYPES,
    USAGE_RAW_COLUMNS,
    USAGE_RAW_TABLE,
    pricing_units,
    with_lineage,
)
from shared.domain.sql import IDENTIFIER_RE, literal, table_ref
from shared.processors.base import (
    Phase,
    ProcessorConfig,
    StepContext,
    StepResult,
    parse_config,
    register,
)

CSV_TOKEN_COLUMNS = {
    "input_tokens": "input",
    "cached_input_tokens": "cached_input",
    "output_tokens": "output",
}
CSV_COLUMNS = frozenset({"date", "model", "sub_account_id", *CSV_TOKEN_COLUMNS})
_PROVIDER = r"^[a-z][a-z0-9_]{0,62}$"


# -- usage file ----------------------------------------------------------------------------
class PaygUsageConfig(ProcessorConfig):
    provider: str = Field(pattern=_PROVIDER)
    dataset: str = Field(pattern=IDENTIFIER_RE.pattern)
    uri: str = Field(min_length=1)  # a local path or file:// URI (set by the operator)


def local_path(uri: str) -> Path:
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme and len(parts.scheme) > 1:  # "C:" style drive letters are not schemes
        raise StepFailure(f"config.uri: only local files are supported, got {parts.scheme}://")
    return Path(uri)


@register
class PaygUsageFile:
    ps_type: ClassVar[str] = "genai.payg_usage"
    Config: ClassVar[type[ProcessorConfig]] = PaygUsageConfig

    def run(self, ctx: StepContext) -> StepResult:
        config = parse_config(PaygUsageConfig, ctx.config)
        path = local_path(config.uri)
        lineage = ctx.lineage(config.provider)
        skipped = [0]
        try:
            handle = path.open(encoding="utf-8", newline="")
        except OSError as exc:
            raise StepFailure(f"{path.name}: cannot read the usage file: {exc.strerror}") from None
        with handle:
            written = ctx.warehouse.replace_slice(
                config.dataset,
                USAGE_RAW_TABLE,
                USAGE_RAW_COLUMNS,
                (
                    with_lineage(row, row["usage_date"], lineage)
                    for row in usage_csv_rows(
                        handle,
                        path.name,
                        config.provider,
                        ctx.run.start_date,
                        ctx.run.end_date,
                        skipped,
                    )
                ),
                ctx.lineage_key,
                job_tag=f"{ctx.run.run_id}_{ctx.step_id}",
            )
        ctx.log(f"{path.name}: {written} usage rows, {skipped[0]} rows outside the run's days")
        return StepResult(
            rows_written=written, metrics={"table": USAGE_RAW_TABLE, "rows_outside": skipped[0]}
        )


def usage_csv_rows(
    handle: TextIO, name: str, provider: str, start: date, end: date, skipped: list[int]
) -> Iterator[dict[str, Any]]:
    """Rows of genai_payg_usage_raw from a usage CSV (streamed, one line at a time)."""
    reader = csv.DictReader(handle)
    header = reader.fieldnames or []
    if missing := sorted({"date", "model"} - set(header)):
        raise StepFailure(f"{name} line 1: missing column(s) {', '.join(missing)}")
    if unknown := sorted(set(header) - CSV_COLUMNS):
        raise StepFailure(
            f"{name} line 1: unknown column(s) {', '.join(unknown)}; "
            f"expected {', '.join(sorted(CSV_COLUMNS))}"
        )
    for record in reader:
        where = f"{name} line {reader.line_num}"
        if None in record:
            raise StepFailure(f"{where}: more fields than the header has")
        try:
            day = date.fromisoformat((record["date"] or "").strip())
        except ValueError:
            raise StepFailure(f"{where}: date {record['date']!r} is not YYYY-MM-DD") from None
        model = (record["model"] or "").strip()
        if not model:
            raise StepFailure(f"{where}: model is empty")
        counts = {
            column: _tokens(record.get(column), where, column) for column in CSV_TOKEN_COLUMNS
        }
        if not start <= day <= end:
            skipped[0] += 1
            continue
        start_at = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for column, token_type in CSV_TOKEN_COLUMNS.items():
            if counts[column]:
                pricing_quantity, pricing_unit = pricing_units("Tokens", counts[column])
                yield {
                    "usage_date": day,
                    "provider": provider,
                    "endpoint": name,
                    "sub_account_id": (record.get("sub_account_id") or "").strip() or None,
                    "model": model,
                    "token_type": token_type,
                    "unit": "Tokens",
                    "quantity": counts[column],
                    "pricing_quantity": pricing_quantity,
                    "pricing_unit": pricing_unit,
                    "bucket_start": start_at,
                }


def _tokens(value: str | None, where: str, column: str) -> int:
    text = (value or "").strip()
    if not text:
        return 0
    if not text.isdigit():
        raise StepFailure(f"{where}: {column} {text!r} is not a non-negative whole number")
    return int(text)


# -- pricing -------------------------------------------------------------------------------
class PaygCostConfig(ProcessorConfig):
    mode: Literal["price", "cross_check"]
    provider: str = Field(pattern=_PROVIDER)
    dataset: str = Field(pattern=IDENTIFIER_RE.pattern)


@register
class PaygCost:
    ps_type: ClassVar[str] = "genai.payg_cost"
    phase: ClassVar[Phase] = "transform"
    Config: ClassVar[type[ProcessorConfig]] = PaygCostConfig

    def run(self, ctx: StepContext) -> StepResult:
        config = parse_config(PaygCostConfig, ctx.config)
        usage = self._usage(ctx, config)  # aggregated per day/sub-account/model/kind: small
        if config.mode == "price":
            return self._price(ctx, config, usage)
        return self._cross_check(ctx, config, usage)

    def _price(
        self, ctx: StepContext, config: PaygCostConfig, usage: list[dict[str, Any]]
    ) -> StepResult:
        table = load_price_table()
        lineage = ctx.lineage(config.provider)
        totals: dict[str, Decimal] = {}

        def rows() -> Iterator[dict[str, Any]]:
            # Streamed into the load; an unpriced row stops it before anything is written.
            unpriced = [
                f"{u['model']} {u['token_type']} on {u['usage_date']}"
                for u in usage
                if (p := table.price_for(config.provider, u["model"], u["usage_date"])) is None
                or p.per_million(u["token_type"]) is None
            ]
            if unpriced:
                more = f" and {len(unpriced) - 5} more" if len(unpriced) > 5 else ""
                raise StepFailure(
                    f"no {config.provider} price in configs/pricing/genai_prices.yml for: "
                    f"{'; '.join(unpriced[:5])}{more}"
                )
            for u in usage:
                price = table.price_for(config.provider, u["model"], u["usage_date"])
                assert price is not None
                cost = price.cost(u["token_type"], int(u["quantity"]))
                assert cost is not None
                totals[price.currency] = totals.get(price.currency, Decimal(0)) + cost
                yield with_lineage(
                    {
                        "cost_date": u["usage_date"],
                        "provider": config.provider,
                        "sub_account_id": u["sub_account_id"],
                        "line_item": f"{u['model']}, {u['token_type']}",
                        "model": u["model"],
                        "token_type": u["token_type"],
                        "cost_type": "tokens",
                        "service_tier": None,
                        "amount": cost,
                        "currency": price.currency,
                        "source_amount": f"{price.per_million(u['token_type'])}/1M",
                        "cost_source": "price_table",
                    },
                    u["usage_date"],
                    lineage,
                )

        written = ctx.warehouse.replace_slice(
            config.dataset,
            COSTS_RAW_TABLE,
            COSTS_RAW_COLUMNS,
            rows(),
            ctx.lineage_key,
            job_tag=f"{ctx.run.run_id}_{ctx.step_id}",
        )
        return StepResult(
            rows_written=written,
            metrics={
                "table": COSTS_RAW_TABLE,
                "cost_totals": {c: str(v) for c, v in sorted(totals.items())},
            },
        )

    def _cross_check(
        self, ctx: StepContext, config: PaygCostConfig, usage: list[dict[str, Any]]
    ) -> StepResult:
        table = load_price_table()
        estimated: dict[str, Decimal] = {}
        unpriced: set[str] = set()
        for u in usage:
            if u["token_type"] not in TOKEN_TYPES:
                continue  # images, searches...: priced per unit, not in the token table
            price = table.price_for(config.provider, u["model"], u["usage_date"])
            cost = price.cost(u["token_type"], int(u["quantity"])) if price else None
            if price is None or cost is None:
                unpriced.add(f"{u['model']}:{u['token_type']}")
                continue
            estimated[price.currency] = estimated.get(price.currency, Decimal(0)) + cost
        reported = self._reported(ctx, config)
        metrics: dict[str, Any] = {"unpriced": sorted(unpriced)}
        for currency in sorted(set(estimated) | set(reported)):
            est, rep = estimated.get(currency, Decimal(0)), reported.get(currency, Decimal(0))
            metrics[currency] = {
                "reported_token_cost": str(rep),
                "price_table_cost": str(est),
                "difference": str(rep - est),
                "difference_pct": (f"{(rep - est) / est * 100:.4f}" if est else None),
            }
            ctx.log(
                f"price cross-check {currency}: reported {rep:.2f}, price table {est:.2f}, "
                f"difference {rep - est:.2f}"
            )
        return StepResult(rows_written=0, metrics={"cross_check": metrics})

    def _usage(self, ctx: StepContext, config: PaygCostConfig) -> list[dict[str, Any]]:
        return ctx.warehouse.query(
            "SELECT usage_date, sub_account_id, model, token_type, SUM(quantity) AS quantity"
            f" FROM {table_ref(ctx.warehouse.project_id, config.dataset, USAGE_RAW_TABLE)}"
            f" WHERE {_SLICE} AND unit = 'Tokens'"
            " GROUP BY usage_date, sub_account_id, model, token_type"
            " ORDER BY usage_date, sub_account_id, model, token_type",
            _slice_params(ctx),
        )

    def _reported(self, ctx: StepContext, config: PaygCostConfig) -> dict[str, Decimal]:
        rows = ctx.warehouse.query(
            "SELECT currency, SUM(amount) AS amount"
            f" FROM {table_ref(ctx.warehouse.project_id, config.dataset, COSTS_RAW_TABLE)}"
            f" WHERE {_SLICE} AND token_type IN ({', '.join(map(literal, TOKEN_TYPES))})"
            " GROUP BY currency",
            _slice_params(ctx),
        )
        return {r["currency"]: Decimal(r["amount"]) for r in rows}


_SLICE = (
    "x_org_slug = @org AND x_pipeline_id = @pipeline AND x_credential_id = @credential"
    " AND x_pipeline_run_date BETWEEN @start AND @end"
)


def _slice_params(ctx: StepContext) -> Mapping[str, Any]:
    key = ctx.lineage_key
    return {
        "org": key.org_slug,
        "pipeline": key.pipeline_id,
        "credential": key.credential_id,
        "start": key.start_date,
        "end": key.end_date,
    }
