"""generic.api_extractor's pure parts: request plans, every pagination style, row mapping."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from shared.domain.api_extract import (
    Answer,
    ApiSource,
    ExtractError,
    Page,
    PaginationSpec,
    first_page,
    next_page,
    plan_requests,
    records_of,
    rows_of,
    usage_day,
)
from shared.domain.templates import resolve
from shared.processors.api_extractor import ApiExtractorConfig

REPO = Path(__file__).resolve().parents[2]


def _source(**changes: Any) -> ApiSource:
    body: dict[str, Any] = {
        "request": {
            "base_url": "https://api.example.com/v2",
            "path": "/orgs/{org}/usage",
            "params": {"from": "{start_date}", "to": "{end_date}"},
            "headers": {"X-Day": "{start_iso}"},
        },
        "records_path": "data.items",
        "usage_date": "day",
        "columns": {
            "day": {"path": "day", "type": "DATE"},
            "amount": {"path": "cost.amount", "type": "NUMERIC", "required": True},
            "sku": {"path": "meta.sku"},
        },
    }
    body.update(changes)
    return ApiSource.model_validate(body)


def test_a_range_window_is_one_request_with_its_templates_filled() -> None:
    (planned,) = plan_requests(_source(), date(2026, 11, 1), date(2026, 11, 3), {"org": "a b"})
    assert planned.url == "https://api.example.com/v2/orgs/a%20b/usage"  # path values encoded
    assert planned.params == [("from", "2026-11-01"), ("to", "2026-11-03")]
    assert planned.headers == {"X-Day": "2026-11-01T00:00:00Z"}
    assert planned.label == "2026-11-01..2026-11-03"


def test_a_per_day_window_is_one_request_per_day() -> None:
    source = _source(
        window="per_day",
        request={"base_url": "https://h", "params": {"y": "{year}", "m": "{month}", "d": "{day}"}},
    )
    planned = plan_requests(source, date(2026, 11, 30), date(2026, 12, 1), {})
    assert [p.params for p in planned] == [
        [("y", "2026"), ("m", "11"), ("d", "30")],
        [("y", "2026"), ("m", "12"), ("d", "1")],
    ]


def test_an_unknown_template_name_says_where_and_what_is_known() -> None:
    with pytest.raises(ExtractError, match=r"request.path: unknown template name \{org\}"):
        plan_requests(_source(), date(2026, 11, 1), date(2026, 11, 1), {})


def test_config_mistakes_are_refused_with_the_field() -> None:
    with pytest.raises(ValidationError, match="usage_date"):
        _source(usage_date="sku")
    with pytest.raises(ValidationError, match="cursor_path and cursor_param"):
        PaginationSpec(type="cursor")
    with pytest.raises(ValidationError, match="needs a name"):
        _source(auth={"type": "header"})
    with pytest.raises(ValidationError, match="x_"):
        _source(columns={"x_run_id": {"path": "a"}, "day": {"path": "d", "type": "DATE"}})


def _walk(spec: PaginationSpec, pages: list[tuple[Any, int, str | None]]) -> list[Page]:
    """The pages visited when each answer is (body, records on it, Link next)."""
    page: Page | None = first_page(spec, "https://h/items", [("q", "1")])
    seen: set[str] = set()
    visited = []
    for body, count, link in pages:
        assert page is not None
        visited.append(page)
        page = next_page(spec, page, Answer(body, count, link), seen)
    assert page is None, "pagination went on past the last answer"
    return visited


def test_cursor_pagination_sends_each_cursor_back_until_there_is_none() -> None:
    spec = PaginationSpec(type="cursor", cursor_path="meta.next", cursor_param="cursor")
    visited = _walk(spec, [({"meta": {"next": "c2"}}, 3, None), ({"meta": {"next": ""}}, 1, None)])
    assert visited[1].params == [("q", "1"), ("cursor", "c2")]


def test_a_repeated_cursor_is_a_loop_not_more_data() -> None:
    spec = PaginationSpec(type="cursor", cursor_path="next", cursor_param="cursor")
    page = first_page(spec, "https://h/items", [])
    seen: set[str] = set()
    page2 = next_page(spec, page, Answer({"next": "x"}, 1), seen)
    assert page2 is not None
    with pytest.raises(ExtractError, match="repeats"):
        next_page(spec, page2, Answer({"next": "x"}, 1), seen)


@pytest.mark.parametrize("style", ["page_number", "offset"])
def test_numbered_pagination_stops_on_a_short_page(style: str) -> None:
    spec = PaginationSpec(type=style, size_param="per_page", page_size=2)  # type: ignore[arg-type]
    visited = _walk(spec, [({}, 2, None), ({}, 2, None), ({}, 1, None)])
    name = "page" if style == "page_number" else "offset"
    assert [dict(p.params)[name] for p in visited] == (
        ["1", "2", "3"] if style == "page_number" else ["0", "2", "4"]
    )
    assert all(dict(p.params)["per_page"] == "2" for p in visited)


def test_next_links_are_followed_relative_or_absolute_and_never_off_host() -> None:
    spec = PaginationSpec(type="next_link", next_path="next_page_uri")
    visited = _walk(
        spec,
        [({"next_page_uri": "/items?Page=1"}, 1, None), ({"next_page_uri": None}, 1, None)],
    )
    assert visited[1] == Page("https://h/items", [("Page", "1")], 2)  # the link's own query
    page = first_page(spec, "https://h/items", [])
    with pytest.raises(ExtractError, match=r"leaves h for 'evil\.example'"):
        next_page(spec, page, Answer({"next_page_uri": "https://evil.example/x"}, 1), set())


def test_link_header_pagination_follows_rel_next() -> None:
    spec = PaginationSpec(type="link_header")
    visited = _walk(spec, [({}, 1, "https://h/items?page=2"), ({}, 1, None)])
    assert (visited[1].url, visited[1].params) == ("https://h/items", [("page", "2")])


def test_max_pages_bounds_a_server_that_never_stops() -> None:
    spec = PaginationSpec(type="page_number", max_pages=2)
    second = next_page(spec, first_page(spec, "https://h", []), Answer({}, 5), set())
    assert second is not None
    with pytest.raises(ExtractError, match="more than 2 pages"):
        next_page(spec, second, Answer({}, 5), set())


def test_records_convert_to_their_column_types() -> None:
    records = [
        {"day": "2026-11-02", "cost": {"amount": "1.2345678919"}, "meta": {"sku": 7}},
        {"day": "2026-11-02T23:30:00-02:00", "cost": {"amount": 0.1}},
    ]
    rows = list(rows_of(_source(), records, "page 1"))
    assert rows[0] == {"day": date(2026, 11, 2), "amount": Decimal("1.234567892"), "sku": "7"}
    assert rows[1]["day"] == date(2026, 11, 3)  # the UTC day of a timestamp
    assert rows[1]["amount"] == Decimal("0.100000000")
    assert rows[1]["sku"] is None


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"day": "2026-11-02"}, r"record 0: field 'cost.amount' is missing \(needed for amount\)"),
        ({"day": "2026-11-02", "cost": {"amount": "abc"}}, r"'abc' is not a NUMERIC"),
        ({"day": "Monday", "cost": {"amount": "1"}}, r"field 'day': 'Monday' is not a DATE"),
        ({"cost": {"amount": "1"}}, r"field 'day' is missing"),  # the usage date is needed
        ("text", "a str, not an object"),
    ],
)
def test_a_record_that_does_not_convert_names_its_place(record: Any, message: str) -> None:
    with pytest.raises(ExtractError, match=message):
        list(rows_of(_source(), [record], "2026-11-02 page 3"))


def test_records_path_must_lead_to_a_list() -> None:
    assert records_of({"data": {"items": [1]}}, "data.items") == [1]
    assert records_of({"data": {}}, "data.items") == []  # an empty page may leave it out
    assert records_of([1, 2], "") == [1, 2]
    with pytest.raises(ExtractError, match="data is dict, not a list"):
        records_of({"data": {"items": 1}}, "data")


def test_usage_day_of_a_timestamp_column_is_its_utc_day() -> None:
    at = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)
    assert usage_day({"d": at}, "d") == date(2026, 11, 2)


@pytest.mark.parametrize(
    "path",
    ["configs/saas/github/billing/usage.yml", "configs/saas/twilio/billing/usage_records.yml"],
)
def test_the_shipped_extractor_configs_are_valid_step_configs(path: str) -> None:
    body = yaml.safe_load((REPO / path).read_text())
    for step in body["steps"]:
        config = resolve(step["config"], {"org_dataset": "acme_prod"})
        ApiExtractorConfig.model_validate(config)
