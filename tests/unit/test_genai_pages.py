"""Parsing provider report pages into raw rows (shared.domain.genai): pure, no HTTP."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.genai import (
    PageError,
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
    with pytest.raises(PageError, match=message.replace("(", r"\(").replace("'", "'")):
        list(openai_cost_rows(page, POS, OCT))


def test_page_buckets_returns_the_cursor_only_when_there_is_more() -> None:
    assert page_buckets(_page(more=True), POS) == ([], "c2")
    assert page_buckets({"data": [], "has_more": False, "next_page": "stale"}, POS) == ([], None)
