"""Any JSON REST API described in YAML: request plan, pagination and row mapping (pure).

``generic.api_extractor`` (shared/processors/api_extractor.py) does the I/O; everything
it decides is here, so it is tested without a server:

- **requests**: ``request.path`` / ``params`` / ``headers`` hold ``{name}`` templates,
  filled per request from the run's window (``window: range`` = one request plan for the
  window; ``per_day`` = one per day, for APIs that report one day at a time), the run's
  parameters and ``auth_user`` (the user part of a basic-auth credential);
- **pagination**: ``none``, ``cursor`` (a body field carries the next cursor, sent back
  as a query parameter), ``next_link`` (a body field carries the next URL), ``link_header``
  (RFC 8288 ``rel="next"``), ``page_number`` and ``offset`` (stop on a short or empty page).
  A next URL on another host is refused: the credential must not follow it;
- **rows**: ``records_path`` finds the page's records; each column has a dotted ``path``
  into a record and a BigQuery type the value is converted to. A value that does not
  convert refuses the step, naming the page, the record and the field: nothing is
  written (the load is all or nothing).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.errors import shown
from shared.domain.sql import IDENTIFIER_RE

ColumnType = Literal["STRING", "INT64", "NUMERIC", "FLOAT64", "BOOL", "DATE", "TIMESTAMP", "JSON"]
Query = list[tuple[str, str]]

_MODEL = ConfigDict(extra="forbid", frozen=True)
_TEMPLATE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PATH = r"^[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*$"
_NANO = Decimal("1e-9")  # NUMERIC's scale


class ColumnSpec(BaseModel):
    model_config = _MODEL

    path: str = Field(pattern=_PATH)  # dotted; a numeric part indexes a list
    type: ColumnType = "STRING"
    required: bool = False
    # google_money: a Google API Money object {currencyCode, units, nanos} as NUMERIC.
    format: Literal["google_money"] | None = None

    @model_validator(mode="after")
    def _format_fits_type(self) -> ColumnSpec:
        if self.format == "google_money" and self.type != "NUMERIC":
            raise ValueError("format google_money is for NUMERIC columns")
        return self


class AuthSpec(BaseModel):
    """How the org's credential is sent: ``bearer`` (Authorization: Bearer KEY),
    ``header`` (``name``: KEY), ``query`` (``?name=KEY``), ``basic`` (the key is
    ``user:password``), ``google`` (an OAuth token of the org's service-account key, or
    of application default credentials without one, for ``scopes``), or ``none``."""

    model_config = _MODEL

    type: Literal["bearer", "header", "query", "basic", "google", "none"] = "bearer"
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    scopes: list[str] = ["https://www.googleapis.com/auth/cloud-platform"]

    @model_validator(mode="after")
    def _named_where_needed(self) -> AuthSpec:
        if self.type in ("header", "query") and not self.name:
            raise ValueError(f"auth type {self.type!r} needs a name (the header or parameter)")
        return self


class PaginationSpec(BaseModel):
    model_config = _MODEL

    type: Literal["none", "cursor", "next_link", "link_header", "page_number", "offset"] = "none"
    cursor_path: str | None = Field(default=None, pattern=_PATH)  # cursor: in the body
    cursor_param: str | None = None  # cursor: the query parameter it goes back in
    next_path: str | None = Field(default=None, pattern=_PATH)  # next_link: in the body
    page_param: str = "page"  # page_number
    first_page: int = Field(default=1, ge=0)
    offset_param: str = "offset"  # offset
    size_param: str | None = None  # page_number / offset: the page-size parameter
    page_size: int | None = Field(default=None, ge=1, le=100_000)
    max_pages: int = Field(default=10_000, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _complete(self) -> PaginationSpec:
        if self.type == "cursor" and not (self.cursor_path and self.cursor_param):
            raise ValueError("cursor pagination needs cursor_path and cursor_param")
        if self.type == "next_link" and not self.next_path:
            raise ValueError("next_link pagination needs next_path")
        if (self.size_param is None) != (self.page_size is None):
            raise ValueError("size_param and page_size go together")
        return self


class RequestSpec(BaseModel):
    model_config = _MODEL

    base_url: str = Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    path: str = ""
    params: dict[str, str | int] = {}
    headers: dict[str, str] = {}


class ApiSource(BaseModel):
    """What to call and how to read it (the step config adds where to write)."""

    model_config = _MODEL

    request: RequestSpec
    auth: AuthSpec = AuthSpec()
    pagination: PaginationSpec = PaginationSpec()
    window: Literal["range", "per_day"] = "range"
    records_path: str = Field(default="", pattern=r"^$|" + _PATH)  # "": the body is the list
    columns: dict[str, ColumnSpec] = Field(min_length=1)
    # The column (DATE or TIMESTAMP) that places a row on a day; None: the API answers a
    # snapshot (a price catalog, open recommendations), placed on the run's last day.
    usage_date: str | None

    @model_validator(mode="after")
    def _usage_date_is_a_dated_column(self) -> ApiSource:
        for name in self.columns:
            if not IDENTIFIER_RE.fullmatch(name) or name.startswith("x_"):
                raise ValueError(f"column name {name!r}: an identifier not starting with x_")
        if self.usage_date is None:
            return self
        spec = self.columns.get(self.usage_date)
        if spec is None or spec.type not in ("DATE", "TIMESTAMP"):
            raise ValueError(f"usage_date {self.usage_date!r} must name a DATE or TIMESTAMP column")
        return self


class ExtractError(ValueError):
    """A page or a record that cannot be read as configured (says where)."""


# -- requests ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    label: str  # where errors point: "2026-11-03" or "2026-11-01..2026-11-03"
    url: str
    params: Query
    headers: dict[str, str]


def window_variables(start: date, end: date) -> dict[str, str]:
    """The window's template names (end_* exclusive: the instant after the last day);
    a one-day window also names its ``date``, ``year``, ``month`` and ``day``."""
    after = datetime.combine(end + timedelta(days=1), time(), UTC)
    begin = datetime.combine(start, time(), UTC)
    names = {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "end_date_exclusive": (end + timedelta(days=1)).isoformat(),
        "start_iso": f"{begin:%Y-%m-%dT%H:%M:%SZ}",
        "end_iso": f"{after:%Y-%m-%dT%H:%M:%SZ}",
        "start_ts": str(int(begin.timestamp())),
        "end_ts": str(int(after.timestamp())),
    }
    if start == end:
        names |= {
            "date": start.isoformat(),
            "year": str(start.year),
            "month": str(start.month),
            "day": str(start.day),
        }
    return names


def plan_requests(
    source: ApiSource, start: date, end: date, values: Mapping[str, str]
) -> list[PlannedRequest]:
    """The first request of each window part (pagination follows from each)."""
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    parts = [(d, d) for d in days] if source.window == "per_day" else [(start, end)]
    planned = []
    for first, last in parts:
        names = {**values, **window_variables(first, last)}
        req = source.request
        path = fill(req.path, names, "request.path", encode=True)
        params = [(k, fill(str(v), names, f"request.params.{k}")) for k, v in req.params.items()]
        headers = {k: fill(v, names, f"request.headers.{k}") for k, v in req.headers.items()}
        label = str(first) if first == last else f"{first}..{last}"
        planned.append(PlannedRequest(label, _join(req.base_url, path), params, headers))
    return planned


def fill(template: str, names: Mapping[str, str], where: str, *, encode: bool = False) -> str:
    """``{name}`` replaced by its value (URL-encoded in a path); unknown names refused."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            known = ", ".join(sorted(names))
            raise ExtractError(f"{where}: unknown template name {{{name}}}; known: {known}")
        return quote(names[name], safe="") if encode else names[name]

    return _TEMPLATE.sub(value, template)


def _join(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + ("/" + path.lstrip("/") if path else "")


# -- pagination -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    """Where one page comes from: the URL, its query, and its place in the sequence."""

    url: str
    params: Query
    number: int = 1


def first_page(spec: PaginationSpec, url: str, params: Query) -> Page:
    if spec.type == "page_number":
        params = [*params, (spec.page_param, str(spec.first_page))]
    elif spec.type == "offset":
        params = [*params, (spec.offset_param, "0")]
    if spec.size_param is not None and spec.page_size is not None:
        params = [*params, (spec.size_param, str(spec.page_size))]
    return Page(url, params)


@dataclass(frozen=True, slots=True)
class Answer:
    """What one page's response says about the next: its body, how many records it held,
    and its Link header's rel="next" URL (RFC 8288), if any."""

    body: Any
    records: int
    link_next: str | None = None


def next_page(spec: PaginationSpec, page: Page, answer: Answer, seen: set[str]) -> Page | None:
    """The page after ``page``, or None when it was the last. ExtractError on a loop (a
    cursor or link in ``seen``), a foreign next URL, or more pages than ``max_pages``."""
    following = _following(spec, page, answer, seen)
    if following is not None and following.number > spec.max_pages:
        raise ExtractError(f"more than {spec.max_pages} pages (pagination.max_pages)")
    return following


def _following(spec: PaginationSpec, page: Page, answer: Answer, seen: set[str]) -> Page | None:
    number = page.number + 1
    if spec.type == "none":
        return None
    if spec.type in ("page_number", "offset"):
        short = answer.records == 0 or (
            spec.page_size is not None and answer.records < spec.page_size
        )
        if short:
            return None
        if spec.type == "page_number":
            return Page(page.url, _replaced(page.params, spec.page_param, number), number)
        offset = int(dict(page.params).get(spec.offset_param, "0")) + answer.records
        return Page(page.url, _replaced(page.params, spec.offset_param, offset), number)
    if spec.type == "cursor":
        assert spec.cursor_path is not None
        assert spec.cursor_param is not None
        cursor = value_at(answer.body, spec.cursor_path)
        if cursor in (None, ""):
            return None
        cursor = str(cursor)
        if cursor in seen:
            raise ExtractError(f"page {page.number}: the next cursor repeats an earlier one")
        seen.add(cursor)
        return Page(page.url, _replaced(page.params, spec.cursor_param, cursor), number)
    link = answer.link_next if spec.type == "link_header" else _next_link(spec, answer.body)
    if not link:
        return None
    target = urljoin(page.url, link)
    if urlsplit(target)[:2] != urlsplit(page.url)[:2]:
        raise ExtractError(
            f"page {page.number}: the next link leaves {urlsplit(page.url).netloc} for "
            f"{shown(urlsplit(target).netloc, 60)}: not followed (the credential would go along)"
        )
    if target in seen:
        raise ExtractError(f"page {page.number}: the next link repeats an earlier one")
    seen.add(target)
    # The link carries its own query: kept as the page's parameters, so the client sends
    # exactly it (and nothing of the first page's).
    parts = urlsplit(target)
    return Page(parts._replace(query="").geturl(), parse_qsl(parts.query, True), number)


def _next_link(spec: PaginationSpec, body: Any) -> str | None:
    assert spec.next_path is not None
    link = value_at(body, spec.next_path)
    if link is not None and not isinstance(link, str):
        raise ExtractError(f"{spec.next_path}: the next link is not a string")
    return link


def _replaced(params: Query, name: str, value: int | str) -> Query:
    return [(k, v) for k, v in params if k != name] + [(name, str(value))]


# -- rows -------------------------------------------------------------------------------


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted ``path`` (numeric parts index lists); None where it is absent."""
    current = data
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def records_of(body: Any, records_path: str) -> Sequence[Any]:
    records = value_at(body, records_path) if records_path else body
    if records is None:
        return []  # an empty page may leave the list out
    if not isinstance(records, list):
        where = records_path or "the body"
        raise ExtractError(f"{where} is {type(records).__name__}, not a list of records")
    return records


def rows_of(source: ApiSource, records: Sequence[Any], where: str) -> Iterator[dict[str, Any]]:
    """Each record as a row of the configured columns, converted; ExtractError naming the
    record and field of the first value that does not convert."""
    for index, record in enumerate(records):
        at = f"{where} record {index}"
        if not isinstance(record, Mapping):
            raise ExtractError(f"{at}: a {type(record).__name__}, not an object")
        row: dict[str, Any] = {}
        for name, spec in source.columns.items():
            raw = value_at(record, spec.path)
            if raw is None:
                if spec.required or name == source.usage_date:
                    raise ExtractError(f"{at}: field {spec.path!r} is missing (needed for {name})")
                row[name] = None
                continue
            try:
                row[name] = convert(_money(raw) if spec.format else raw, spec.type)
            except (ValueError, TypeError, InvalidOperation, ArithmeticError):
                raise ExtractError(
                    f"{at}: field {spec.path!r}: {shown(raw, 60)} is not a {spec.type}"
                ) from None
        yield row


def _money(value: Any) -> Decimal:
    """A Google Money {currencyCode, units, nanos}: units + nanos / 1e9 (same sign)."""
    if not isinstance(value, Mapping):
        raise TypeError("not a Money object")
    return Decimal(str(value.get("units") or 0)) + Decimal(int(value.get("nanos") or 0)) * _NANO


def usage_day(row: Mapping[str, Any], column: str) -> date:
    """The UTC day a row's usage-date column (DATE or TIMESTAMP) places it on."""
    value = row[column]
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    assert isinstance(value, date)
    return value


def convert(value: Any, type_: ColumnType) -> Any:
    """``value`` as the column type holds it; ValueError/TypeError when it does not fit."""
    if type_ == "JSON":
        return value
    if isinstance(value, (Mapping, list)):
        raise TypeError("an object or a list")
    if type_ == "STRING":
        return value if isinstance(value, str) else json.dumps(value)
    if isinstance(value, bool) and type_ != "BOOL":
        raise TypeError("a boolean")
    if type_ == "INT64":
        number = Decimal(str(value).strip())
        if number != number.to_integral_value():
            raise ValueError("not a whole number")
        return int(number)
    if type_ == "NUMERIC":  # exact, to NUMERIC's nine decimals
        return Decimal(str(value).strip()).quantize(_NANO, rounding=ROUND_HALF_EVEN)
    if type_ == "FLOAT64":
        return float(value)
    if type_ == "BOOL":
        return _bool(value)
    if type_ == "TIMESTAMP":
        return _timestamp(value)
    if _is_plain_date(value):
        return date.fromisoformat(value)
    return _timestamp(value).astimezone(UTC).date()  # a timestamp's UTC day


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError("not a boolean")


def _is_plain_date(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None


def _timestamp(value: Any) -> datetime:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)  # epoch seconds
    text = str(value).strip()
    if _is_plain_date(text):
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.utcoffset() is not None else parsed.replace(tzinfo=UTC)
