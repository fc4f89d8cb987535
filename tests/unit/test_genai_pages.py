"""Parsing provider report pages into raw rows (shared.domain.genai): pure, no HTTP."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from shared.domain import genai
from shared.domain.genai import (
    PagePosition,
    Window,
    anthropic_cost_rows,
    anthropic_usage_rows,
    openai_cost_rows,
    openai_usage_rows,
    page_buckets,
)

POS = PagePosition("costs", 3)
OCT = Window(date(2026, 10, 1), date(2026, 10, 31))
OCT_5 = 1_791_158_400  # 2026-10-05T00:00:00Z


def _page(*buckets: dict[str, Any], more: bool = False) -> dict[str, Any]:
    return {"data": list(buckets), "has_more": more, "next_page": "c2" if more else None}


def test_openai_costs_split_line_items_and_keep_floats_exact() -> None:
    page = _page(
        {
            "start_time": OCT_5,
            "results": [
                {
                    "amount": {"value": 0.13080438340307526, "currency": "usd"},
                    "line_item": "gpt-4o-mini-2024-07-18, cached input",
                    "project_id": "proj_1",
                },
                {"amount": {"value": 2, "currency": "usd"}, "line_item": "Web search tool calls"},
            ],
        }
    )
    rows = [row for _, row in openai_cost_rows(page, POS, OCT)]
    assert rows[0]["model"] == "gpt-4o-mini-2024-07-18"
    assert rows[0]["token_type"] == "cached_input"
    assert rows[0]["amount"] == Decimal("0.130804383")
    assert rows[0]["currency"] == "USD"
    assert rows[0]["cost_date"] == date(2026, 10, 5)
    assert (rows[1]["model"], rows[1]["token_type"]) == (None, "web_search_tool_calls")


def test_openai_completions_split_cached_from_uncached_input() -> None:
    result = {"input_tokens": 1000, "input_cached_tokens": 400, "output_tokens": 7, "model": "m"}
    page = _page({"start_time": OCT_5, "results": [result]})
    rows = [row for _, row in openai_usage_rows("completions", page, POS, OCT)]
    assert {r["token_type"]: r["quantity"] for r in rows} == {
        "input": 600,
        "cached_input": 400,
        "output": 7,
    }
    assert rows[0]["pricing_quantity"] == Decimal("0.0006")


def test_anthropic_amounts_are_cents_and_all_input_kinds_are_kept() -> None:
    cost = {
        "amount": "123.45",
        "currency": "USD",
        "cost_type": "tokens",
        "token_type": "cache_creation.ephemeral_1h_input_tokens",
        "model": "claude-x",
        "workspace_id": None,
    }
    page = _page({"starting_at": "2026-10-05T00:00:00Z", "results": [cost]})
    [(_, row)] = list(anthropic_cost_rows(page, POS, OCT))
    assert row["amount"] == Decimal("1.2345")
    assert row["token_type"] == "cache_write_1h"
    usage = {
        "uncached_input_tokens": 1,
        "cache_read_input_tokens": 2,
        "cache_creation": {"ephemeral_5m_input_tokens": 3, "ephemeral_1h_input_tokens": 4},
        "output_tokens": 5,
        "server_tool_use": {"web_search_requests": 6},
        "model": "claude-x",
    }
    page = _page({"starting_at": "2026-10-05T00:00:00Z", "results": [usage]})
    rows = {
        r["token_type"]: (r["quantity"], r["unit"]) for _, r in anthropic_usage_rows(page, POS, OCT)
    }
    assert rows == {
        "input": (1, "Tokens"),
        "cached_input": (2, "Tokens"),
        "cache_write_5m": (3, "Tokens"),
        "cache_write_1h": (4, "Tokens"),
        "output": (5, "Tokens"),
        "web_search": (6, "Requests"),
    }


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ([], "costs page 3: expected a JSON object"),
        ({"data": {}}, "costs page 3: 'data' is missing or not a list"),
        ({"data": [], "has_more": True, "next_page": None}, "'has_more' is true but 'next_page'"),
        (_page({"start_time": "x", "results": []}), "costs page 3 bucket 0: start_time"),
        (_page({"start_time": OCT_5 - 10 * 86400, "results": []}), "outside the run's"),
        (
            _page(
                {"start_time": OCT_5, "results": [{"amount": {"value": "1x", "currency": "usd"}}]}
            ),
            "costs page 3 bucket 0 row 0: amount '1x' is not a decimal",
        ),
        (
            _page({"start_time": OCT_5, "results": [{"amount": {"value": 1, "currency": 5}}]}),
            "bucket 0 row 0: amount.currency",
        ),
    ],
)
def test_bad_pages_name_their_position(page: Any, message: str) -> None:
    with pytest.raises(genai.PageError, match=message.replace("(", r"\(").replace("'", "'")):
        list(openai_cost_rows(page, POS, OCT))


def test_page_buckets_returns_the_cursor_only_when_there_is_more() -> None:
    assert page_buckets(_page(more=True), POS) == ([], "c2")
    assert page_buckets({"data": [], "has_more": False, "next_page": "stale"}, POS) == ([], None)


def _usage(project: str, model: str) -> dict[str, Any]:
    return {"input_tokens": 10, "output_tokens": 2, "project_id": project, "model": model}


def test_a_result_sent_again_on_a_later_page_is_a_repeat_naming_both_positions() -> None:
    seen = genai.SeenResults()
    first = _page({"start_time": OCT_5, "results": [_usage("proj_1", "m"), _usage("proj_2", "m")]})
    assert len(list(openai_usage_rows("completions", first, PagePosition("usage", 1), OCT, seen)))
    again = _page({"start_time": OCT_5, "results": [_usage("proj_2", "m")]})
    with pytest.raises(genai.RepeatedResult) as repeat:
        list(openai_usage_rows("completions", again, PagePosition("usage", 2), OCT, seen))
    assert str(repeat.value) == (
        "usage page 2 bucket 0 row 0: repeats the result at page 1 bucket 0 row 1 "
        "(bucket 2026-10-05T00:00:00Z, project_id='proj_2', model='m')"
    )
    assert isinstance(repeat.value, genai.PageError)  # a page problem, told apart by its type


def test_same_bucket_start_with_another_group_key_or_endpoint_is_not_a_repeat() -> None:
    seen = genai.SeenResults()
    bucket = {"start_time": OCT_5, "results": [_usage("proj_1", "m")]}
    list(openai_usage_rows("completions", _page(bucket), PagePosition("usage", 1), OCT, seen))
    for result in (
        _usage("proj_1", "other-model"),
        _usage("proj_2", "m"),
        {**_usage("proj_1", "m"), "api_key_id": "key_1"},  # a group the step did not ask for
        {**_usage("proj_1", "m"), "batch": True},
    ):
        page = _page({"start_time": OCT_5, "results": [result]})
        assert list(openai_usage_rows("completions", page, PagePosition("usage", 2), OCT, seen))
    # the same result from another endpoint, or another day, is its own
    embeddings = PagePosition("usage/embeddings", 1)  # a position names its endpoint
    list(openai_usage_rows("embeddings", _page(bucket), embeddings, OCT, seen))
    next_day = _page({"start_time": OCT_5 + 86400, "results": [_usage("proj_1", "m")]})
    list(openai_usage_rows("completions", next_day, PagePosition("usage", 3), OCT, seen))


def test_a_result_twice_on_one_page_is_a_repeat_and_without_seen_nothing_is_checked() -> None:
    twice = _page({"start_time": OCT_5, "results": [_usage("p", "m"), _usage("p", "m")]})
    with pytest.raises(genai.RepeatedResult, match=r"page 3 bucket 0 row 1: repeats .* row 0"):
        list(openai_usage_rows("completions", twice, POS, OCT, genai.SeenResults()))
    assert len(list(openai_usage_rows("completions", twice, POS, OCT))) == 4


def test_anthropic_and_cost_reports_key_on_their_own_group_fields() -> None:
    start = "2026-10-05T00:00:00Z"
    cost = {"amount": "1.5", "currency": "USD", "workspace_id": "w", "description": "d"}
    seen = genai.SeenResults()
    pages = {
        "cost": lambda pos: anthropic_cost_rows(
            _page({"starting_at": start, "results": [cost]}), pos, OCT, seen
        ),
        "usage": lambda pos: anthropic_usage_rows(
            _page({"starting_at": start, "results": [{"output_tokens": 1, "workspace_id": "w"}]}),
            pos,
            OCT,
            seen,
        ),
    }
    for name, rows in pages.items():
        list(rows(PagePosition(name, 1)))
        with pytest.raises(
            genai.RepeatedResult, match=f"{name} page 2 bucket 0 row 0: .*workspace_id"
        ):
            list(rows(PagePosition(name, 2)))
    other = {**cost, "description": "d2"}
    list(anthropic_cost_rows(_page({"starting_at": start, "results": [other]}), POS, OCT, seen))
    openai_cost = {"amount": {"value": 1, "currency": "usd"}, "line_item": "x", "project_id": "p"}
    page = _page({"start_time": OCT_5, "results": [openai_cost]})
    list(openai_cost_rows(page, PagePosition("costs", 1), OCT, seen))
    with pytest.raises(genai.RepeatedResult, match="line_item='x'"):
        list(openai_cost_rows(page, PagePosition("costs", 2), OCT, seen))


def test_unhashable_or_long_group_values_still_make_a_short_key() -> None:
    seen = genai.SeenResults()
    result = {"output_tokens": 1, "workspace_id": "w" * 500, "api_key_id": ["a"]}
    page = _page({"starting_at": "2026-10-05T00:00:00Z", "results": [result]})
    list(anthropic_usage_rows(page, POS, OCT, seen))
    with pytest.raises(genai.RepeatedResult) as repeat:
        list(anthropic_usage_rows(page, POS, OCT, seen))
    assert "api_key_id=['a']" in str(repeat.value)
    assert len(str(repeat.value)) < 250
