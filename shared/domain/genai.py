"""GenAI pay-as-you-go tables and the parsing of provider report pages into their rows.

Pure: no I/O. Processors fetch pages (shared/adapters/http_pages.py) and hand each page
here; every problem is a :class:`PageError` naming the page's position (endpoint, page
number, bucket and row index), so a bad page fails its step with a message that points at
the data.

Tables (long format: one row per metric, so every provider fits one schema):

* ``genai_payg_usage_raw`` - quantities per day, sub-account (OpenAI project / Anthropic
  workspace), model and token type, as reported;
* ``genai_payg_costs_raw`` - money per day, sub-account and line item, converted to the
  currency unit (Anthropic reports cents), or priced from configs/pricing for providers that
  report no cost;
* ``genai_usage_daily`` - sp_genai_1_consolidate_usage_daily's output: one row per org,
  provider, sub-account, model, day and token type with its quantity and cost; the input
  of sp_genai_3_convert_to_focus.

Token types (normalised across providers): ``input`` (uncached input), ``cached_input``
(cache reads), ``cache_write_5m``, ``cache_write_1h``, ``output``, plus non-token meters
``images``, ``characters``, ``seconds``, ``web_search``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.domain.columns import Column
from shared.domain.focus import LINEAGE_COLUMNS

USAGE_RAW_TABLE = "genai_payg_usage_raw"
COSTS_RAW_TABLE = "genai_payg_costs_raw"
USAGE_DAILY_TABLE = "genai_usage_daily"
SP_CONSOLIDATE = "sp_genai_1_consolidate_usage_daily"
SP_CONVERT_TO_FOCUS = "sp_genai_3_convert_to_focus"
# configs/genai/unified/consolidate.yml: every GenAI pipeline's daily rows of an org in one table
UNIFIED_DAILY_TABLE = "genai_usage_daily_unified"

TOKEN_TYPES = ("input", "cached_input", "cache_write_5m", "cache_write_1h", "output")
TOKENS_PER_PRICING_UNIT = Decimal(1_000_000)
MONEY_QUANTUM = Decimal("1e-9")  # NUMERIC's scale: amounts are stored exactly at it
NUMERIC_LIMIT = Decimal("1e29")  # NUMERIC holds 29 integer digits
INT64_MAX = 2**63 - 1

USAGE_RAW_COLUMNS: tuple[Column, ...] = (
    Column("usage_date", "DATE"),
    Column("provider", "STRING"),  # openai | anthropic | deepseek ...
    Column("endpoint", "STRING"),  # e.g. usage/completions; file name for file sources
    Column("sub_account_id", "STRING"),  # OpenAI project_id / Anthropic workspace_id
    Column("model", "STRING"),
    Column("token_type", "STRING"),  # see the module docstring
    Column("unit", "STRING"),  # Tokens | Images | Characters | Seconds | Requests
    Column("quantity", "INT64"),
    # The same in pricing units (tokens are priced per 1M), computed exactly in Python:
    # SQL division would give FLOAT64, which BigQuery does not put in a NUMERIC column.
    Column("pricing_quantity", "NUMERIC"),
    Column("pricing_unit", "STRING"),  # "1M Tokens" | Images | Characters | ...
    Column("bucket_start", "TIMESTAMP"),
    *LINEAGE_COLUMNS,
)

COSTS_RAW_COLUMNS: tuple[Column, ...] = (
    Column("cost_date", "DATE"),
    Column("provider", "STRING"),
    Column("sub_account_id", "STRING"),
    Column("line_item", "STRING"),  # OpenAI line_item / Anthropic description
    Column("model", "STRING"),  # parsed from the line item when the provider gives none
    Column("token_type", "STRING"),
    Column("cost_type", "STRING"),  # Anthropic cost_type; 'tokens' for priced usage
    Column("service_tier", "STRING"),
    Column("amount", "NUMERIC"),  # in currency units (dollars), exact to 1e-9
    Column("currency", "STRING"),  # ISO 4217, upper case
    Column("source_amount", "STRING"),  # the provider's value as sent, for audits
    Column("cost_source", "STRING"),  # provider | price_table
    *LINEAGE_COLUMNS,
)

USAGE_DAILY_COLUMNS: tuple[Column, ...] = (
    Column("usage_date", "DATE"),
    Column("provider", "STRING"),
    Column("sub_account_id", "STRING"),
    Column("model", "STRING"),
    Column("token_type", "STRING"),
    Column("unit", "STRING"),
    Column("quantity", "INT64"),  # null: cost without reported usage (e.g. a tool fee)
    Column("pricing_quantity", "NUMERIC"),
    Column("pricing_unit", "STRING"),
    Column("cost", "NUMERIC"),  # 0 for usage the provider reported no cost for
    Column("currency", "STRING"),
    Column("cost_source", "STRING"),
    *LINEAGE_COLUMNS,
)

# genai_usage_daily's rows of every GenAI pipeline of the org, each naming the slice it came
# from (its pipeline, credential and run), under the unified run's own lineage.
UNIFIED_DAILY_COLUMNS: tuple[Column, ...] = (
    *USAGE_DAILY_COLUMNS[: -len(LINEAGE_COLUMNS)],
    Column("source_pipeline_id", "STRING"),
    Column("source_credential_id", "STRING"),
    Column("source_run_id", "STRING"),
    *LINEAGE_COLUMNS,
)


class PageError(ValueError):
    """A page that cannot be parsed; ``str()`` names its position."""


class RepeatedResult(PageError):
    """A result the extraction already read: same endpoint, bucket start and group key."""


@dataclass(frozen=True, slots=True)
class PagePosition:
    endpoint: str
    page: int

    def at(self, bucket: int | None = None, row: int | None = None) -> str:
        where = f"{self.endpoint} page {self.page}"
        if bucket is not None:
            where += f" bucket {bucket}"
        if row is not None:
            where += f" row {row}"
        return where


@dataclass(frozen=True, slots=True)
class Window:
    """The run's days, first to last inclusive."""

    start: date
    end: date

    @property
    def start_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """Exclusive end: midnight after the last day."""
        return self.start_at + timedelta(days=(self.end - self.start).days + 1)


# -- paging ------------------------------------------------------------------------------
# The fields naming a result's group, per report (null unless grouped by them; the lists
# hold every group_by the APIs offer, so a group split the processor did not ask for is
# still told apart). Two results with the same endpoint, bucket start and values here are
# the same result sent twice, and would be counted twice.
OPENAI_USAGE_GROUP = ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier")
OPENAI_COST_GROUP = ("project_id", "line_item", "api_key_id")
ANTHROPIC_USAGE_GROUP = (
    "workspace_id",
    "api_key_id",
    "model",
    "service_tier",
    "context_window",
    "inference_geo",
    "account_id",
    "service_account_id",
)
ANTHROPIC_COST_GROUP = (
    "workspace_id",
    "description",
    "cost_type",
    "model",
    "token_type",
    "service_tier",
    "context_window",
    "inference_geo",
)
_KEY_VALUE_CHARS = 80  # a hostile group value is cut short in messages


class SeenResults:
    """The results one extraction has read so far (every page of every endpoint).

    A provider that sends a bucket's result again on a later page (or twice on one page)
    would have it loaded twice: :meth:`claim` raises :class:`RepeatedResult` naming both
    positions and the key. Results of the same bucket start with another group key are
    distinct (a provider may split a day's results across pages). Each key is kept as a
    16-byte digest with its position (~150 bytes per result; the keys themselves cost ~800,
    130 MB at a million usage rows).
    """

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[bytes, tuple[int, int, int]] = {}

    def claim(
        self,
        pos: PagePosition,
        b: int,
        r: int,
        start: datetime,
        result: Mapping[str, Any],
        fields: tuple[str, ...],
    ) -> None:
        # repr: group values are compared as sent (1, "1" and True differ) and an
        # unhashable hostile value (a list) still makes a key.
        values = tuple(repr(result.get(name)) for name in fields)
        # The repr of a tuple of reprs is unambiguous; 128 bits make a false repeat
        # (which would only fail the step, retryably) practically impossible.
        key = repr((pos.endpoint, start, values)).encode()
        digest = hashlib.blake2b(key, digest_size=16).digest()
        first = self._seen.get(digest)
        if first is None:
            self._seen[digest] = (pos.page, b, r)
            return
        page, fb, fr = first
        group = ", ".join(
            f"{name}={value[:_KEY_VALUE_CHARS]}"
            for name, value in zip(fields, values, strict=True)
            if value != "None"
        )
        raise RepeatedResult(
            f"{pos.at(b, r)}: repeats the result at page {page} bucket {fb} row {fr} "
            f"(bucket {start:%Y-%m-%dT%H:%M:%SZ}, {group or 'no group key'})"
        )


def page_buckets(page: Any, pos: PagePosition) -> tuple[list[Any], str | None]:
    """The buckets of a ``{"data": [...], "has_more", "next_page"}`` page and the next cursor."""
    if not isinstance(page, dict):
        raise PageError(f"{pos.at()}: expected a JSON object, got {type(page).__name__}")
    data = page.get("data")
    if not isinstance(data, list):
        raise PageError(f"{pos.at()}: 'data' is missing or not a list")
    has_more = page.get("has_more", False)
    if not isinstance(has_more, bool):
        raise PageError(f"{pos.at()}: 'has_more' is not a boolean")
    cursor = page.get("next_page")
    if cursor is not None and not isinstance(cursor, str):
        raise PageError(f"{pos.at()}: 'next_page' is not a string")
    if has_more and not cursor:
        raise PageError(f"{pos.at()}: 'has_more' is true but 'next_page' is empty")
    return data, (cursor if has_more else None)


def _each_result(
    page: Any,
    pos: PagePosition,
    window: Window,
    bucket_start: Callable[[Any, PagePosition, int, Window], datetime],
    seen: SeenResults | None,
    group: tuple[str, ...],
) -> Iterator[tuple[datetime, str, Mapping[str, Any]]]:
    """(bucket start, position, result) for each result of each bucket of ``page``. Once
    the caller has read a result whole (asks for the next), ``seen`` claims it under the
    ``group`` fields: a malformed repeat is reported as malformed, not as a repeat."""
    buckets, _ = page_buckets(page, pos)
    for b, bucket in enumerate(buckets):
        start = bucket_start(bucket, pos, b, window)
        for r, result in enumerate(_results(bucket, pos, b)):
            yield start, pos.at(b, r), result
            if seen is not None:
                seen.claim(pos, b, r, start, result, group)


# -- OpenAI ------------------------------------------------------------------------------
# Usage endpoint -> (metric field, token type, unit); completions' input_tokens includes the
# cached ones, so the uncached part is computed (see openai_usage_rows).
OPENAI_USAGE_ENDPOINTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "completions": (
        ("input_cached_tokens", "cached_input", "Tokens"),
        ("output_tokens", "output", "Tokens"),
    ),
    "embeddings": (("input_tokens", "input", "Tokens"),),
    "images": (("images", "images", "Images"),),
    "audio_speeches": (("characters", "characters", "Characters"),),
    "audio_transcriptions": (("seconds", "seconds", "Seconds"),),
}
# "gpt-4o-mini-2024-07-18, cached input" -> model + token type
_OPENAI_LINE_ITEM = re.compile(r"^(?P<model>.+?),\s*(?P<kind>input|output|cached input)$", re.I)
_OPENAI_KINDS = {"input": "input", "output": "output", "cached input": "cached_input"}
# Cost line items of OpenAI's non-token meters name the model alone, or with the image's
# size and quality: "tts-1", "tts-1-hd", "whisper-1", "dall-e-3 1024x1024 hd". The model,
# and the usage meter (token type) the cost pays for, as the usage endpoints report it.
_OPENAI_METER_ITEM = re.compile(
    r"^(?P<model>(?P<family>tts-1(?:-hd)?|whisper-1|dall-e-[23])(?:-\d{4}-\d{2}-\d{2})?)(?![\w-])",
    re.I,
)
_OPENAI_METERS = {"tts": "characters", "whisper": "seconds", "dall-e": "images"}


def openai_usage_rows(
    endpoint: str, page: Any, pos: PagePosition, window: Window, seen: SeenResults | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(day, row) for each metric of each result of a usage page (lineage added later);
    ``seen`` (the extraction's results so far) rejects a result read before."""
    metrics = OPENAI_USAGE_ENDPOINTS[endpoint]
    for start, where, result in _each_result(
        page, pos, window, _unix_bucket_start, seen, OPENAI_USAGE_GROUP
    ):
        base = {
            "usage_date": start.date(),
            "provider": "openai",
            "endpoint": f"usage/{endpoint}",
            "sub_account_id": _opt_str(result, "project_id", where),
            "model": _opt_str(result, "model", where),
            "bucket_start": start,
        }
        if endpoint == "completions":
            total = _count(result, "input_tokens", where)
            cached = _count(result, "input_cached_tokens", where)
            if cached > total:
                raise PageError(f"{where}: input_cached_tokens exceeds input_tokens")
            yield from _metric_row(base, "input", "Tokens", total - cached)
        for name, token_type, unit in metrics:
            yield from _metric_row(base, token_type, unit, _count(result, name, where))


def openai_cost_rows(
    page: Any, pos: PagePosition, window: Window, seen: SeenResults | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    for start, where, result in _each_result(
        page, pos, window, _unix_bucket_start, seen, OPENAI_COST_GROUP
    ):
        amount = result.get("amount")
        if not isinstance(amount, dict):
            raise PageError(f"{where}: 'amount' is missing or not an object")
        value = amount.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise PageError(f"{where}: amount.value is not a number")
        currency = amount.get("currency")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
            raise PageError(f"{where}: amount.currency is not a currency code")
        line_item = _opt_str(result, "line_item", where)
        model, token_type, meter = None, None, None
        if line_item and (m := _OPENAI_LINE_ITEM.match(line_item.strip())):
            model, token_type = m["model"], _OPENAI_KINDS[m["kind"].lower()]
        elif line_item and (m := _OPENAI_METER_ITEM.match(line_item.strip())):
            model = m["model"].lower()
            meter = next(v for k, v in _OPENAI_METERS.items() if m["family"].lower().startswith(k))
        yield (
            "costs",
            {
                "cost_date": start.date(),
                "provider": "openai",
                "sub_account_id": _opt_str(result, "project_id", where),
                "line_item": line_item,
                "model": model,
                "token_type": token_type or meter or _slug(line_item),
                "cost_type": "tokens" if token_type else None,
                "service_tier": None,
                # A float on the wire: its shortest repr is the value OpenAI meant.
                "amount": to_money(str(value), where),
                "currency": currency.upper(),
                "source_amount": str(value),
                "cost_source": "provider",
            },
        )


# -- Anthropic ---------------------------------------------------------------------------
_ANTHROPIC_TOKEN_TYPES = {
    "uncached_input_tokens": "input",
    "cache_read_input_tokens": "cached_input",
    "cache_creation.ephemeral_5m_input_tokens": "cache_write_5m",
    "cache_creation.ephemeral_1h_input_tokens": "cache_write_1h",
    "output_tokens": "output",
}
_ANTHROPIC_COST_TYPES = {"web_search": "web_search", "code_execution": "code_execution"}


def anthropic_usage_rows(
    page: Any, pos: PagePosition, window: Window, seen: SeenResults | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    for start, where, result in _each_result(
        page, pos, window, _rfc3339_bucket_start, seen, ANTHROPIC_USAGE_GROUP
    ):
        cache = result.get("cache_creation") or {}
        tools = result.get("server_tool_use") or {}
        if not isinstance(cache, dict) or not isinstance(tools, dict):
            raise PageError(f"{where}: cache_creation/server_tool_use is not an object")
        base = {
            "usage_date": start.date(),
            "provider": "anthropic",
            "endpoint": "usage_report/messages",
            "sub_account_id": _opt_str(result, "workspace_id", where),
            "model": _opt_str(result, "model", where),
            "bucket_start": start,
        }
        # No total-input field: the four input kinds are reported separately.
        for token_type, value in (
            ("input", _count(result, "uncached_input_tokens", where)),
            ("cached_input", _count(result, "cache_read_input_tokens", where)),
            ("cache_write_5m", _count(cache, "ephemeral_5m_input_tokens", where)),
            ("cache_write_1h", _count(cache, "ephemeral_1h_input_tokens", where)),
            ("output", _count(result, "output_tokens", where)),
        ):
            yield from _metric_row(base, token_type, "Tokens", value)
        searches = _count(tools, "web_search_requests", where)
        yield from _metric_row(base, "web_search", "Requests", searches)


def anthropic_cost_rows(
    page: Any, pos: PagePosition, window: Window, seen: SeenResults | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    for start, where, result in _each_result(
        page, pos, window, _rfc3339_bucket_start, seen, ANTHROPIC_COST_GROUP
    ):
        raw = result.get("amount")
        if not isinstance(raw, str):
            raise PageError(f"{where}: amount is not a decimal string")
        currency = result.get("currency")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
            raise PageError(f"{where}: currency is not a currency code")
        cost_type = _opt_str(result, "cost_type", where)
        token_kind = _opt_str(result, "token_type", where)
        token_type = _ANTHROPIC_TOKEN_TYPES.get(token_kind or "")
        if token_type is None:
            token_type = _ANTHROPIC_COST_TYPES.get(cost_type or "", _slug(cost_type))
        yield (
            "costs",
            {
                "cost_date": start.date(),
                "provider": "anthropic",
                "sub_account_id": _opt_str(result, "workspace_id", where),
                "line_item": _opt_str(result, "description", where),
                "model": _opt_str(result, "model", where),
                "token_type": token_type,
                "cost_type": cost_type,
                "service_tier": _opt_str(result, "service_tier", where),
                # The amount is in the lowest currency unit (cents): "123.45" is $1.2345.
                "amount": to_money(raw, where, divisor=100),
                "currency": currency.upper(),
                "source_amount": raw,
                "cost_source": "provider",
            },
        )


# -- helpers -----------------------------------------------------------------------------
def to_money(text: str, where: str, *, divisor: int = 1) -> Decimal:
    """An exact amount at NUMERIC's scale; ``divisor`` converts a minor unit (cents: 100)."""
    try:
        value = Decimal(text) / divisor
    except InvalidOperation:
        raise PageError(f"{where}: amount {text!r} is not a decimal number") from None
    if not value.is_finite():
        raise PageError(f"{where}: amount {text!r} is not finite")
    if abs(value) >= NUMERIC_LIMIT:  # quantize would raise InvalidOperation; NUMERIC can't hold it
        raise PageError(f"{where}: amount {text!r} is out of range")
    return value.quantize(MONEY_QUANTUM)


def with_lineage(row: dict[str, Any], day: date, lineage: Mapping[str, Any]) -> dict[str, Any]:
    return {**row, **lineage, "x_pipeline_run_date": day}


def pricing_units(unit: str, quantity: int) -> tuple[Decimal, str]:
    """Tokens are priced per million (FOCUS PricingUnit "1M Tokens"); other meters per unit."""
    if unit == "Tokens":
        return Decimal(quantity) / TOKENS_PER_PRICING_UNIT, "1M Tokens"
    return Decimal(quantity), unit


def _metric_row(
    base: Mapping[str, Any], token_type: str, unit: str, quantity: int
) -> Iterator[tuple[str, dict[str, Any]]]:
    if quantity:  # zero meters add rows and nothing else
        pricing_quantity, pricing_unit = pricing_units(unit, quantity)
        yield (
            "usage",
            {
                **base,
                "token_type": token_type,
                "unit": unit,
                "quantity": quantity,
                "pricing_quantity": pricing_quantity,
                "pricing_unit": pricing_unit,
            },
        )


def _results(bucket: Any, pos: PagePosition, b: int) -> list[Mapping[str, Any]]:
    results = bucket.get("results")
    if not isinstance(results, list):
        raise PageError(f"{pos.at(b)}: 'results' is missing or not a list")
    for r, result in enumerate(results):
        if not isinstance(result, dict):
            raise PageError(f"{pos.at(b, r)}: result is not an object")
    return results


def _unix_bucket_start(bucket: Any, pos: PagePosition, b: int, window: Window) -> datetime:
    if not isinstance(bucket, dict):
        raise PageError(f"{pos.at(b)}: bucket is not an object")
    value = bucket.get("start_time")
    if isinstance(value, bool) or not isinstance(value, int):
        raise PageError(f"{pos.at(b)}: start_time is not a Unix timestamp")
    return _in_window(datetime.fromtimestamp(value, UTC), pos, b, window)


def _rfc3339_bucket_start(bucket: Any, pos: PagePosition, b: int, window: Window) -> datetime:
    if not isinstance(bucket, dict):
        raise PageError(f"{pos.at(b)}: bucket is not an object")
    value = bucket.get("starting_at")
    try:
        start = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise PageError(f"{pos.at(b)}: starting_at {value!r} is not an RFC 3339 time") from None
    if start.tzinfo is None:
        raise PageError(f"{pos.at(b)}: starting_at {value!r} has no time zone")
    return _in_window(start.astimezone(UTC), pos, b, window)


def _in_window(start: datetime, pos: PagePosition, b: int, window: Window) -> datetime:
    # A bucket outside the run's days would survive the next replace of its slice.
    if not window.start_at <= start < window.end_at:
        raise PageError(
            f"{pos.at(b)}: bucket starts {start:%Y-%m-%dT%H:%M:%SZ}, outside the run's "
            f"{window.start}..{window.end}"
        )
    return start


def _count(obj: Mapping[str, Any], name: str, where: str) -> int:
    value = obj.get(name, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PageError(f"{where}: {name} is not a non-negative number: {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise PageError(f"{where}: {name} is not a whole number: {value!r}")
    if value > INT64_MAX:  # the load into an INT64 column would fail naming no row
        raise PageError(f"{where}: {name} is too large: {value!r}")
    return int(value)


def _opt_str(obj: Mapping[str, Any], name: str, where: str) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise PageError(f"{where}: {name} is not a string")
    return value


def _slug(text: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "_", (text or "other").lower()).strip("_") or "other"
