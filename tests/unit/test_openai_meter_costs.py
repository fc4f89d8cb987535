"""OpenAI cost line items of audio and image models are attributed to their model and to
the usage meter they pay for, so the daily table joins them to their usage."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.domain.genai import PagePosition, Window, openai_cost_rows

DAY = date(2026, 11, 5)


def _page(line_item: str) -> dict[str, Any]:
    start = int(datetime(2026, 11, 5, tzinfo=UTC).timestamp())
    result = {
        "object": "organization.costs.result",
        "amount": {"value": 0.75, "currency": "usd"},
        "line_item": line_item,
        "project_id": "proj_1",
    }
    bucket = {"object": "bucket", "start_time": start, "end_time": start + 86400}
    return {"object": "page", "data": [{**bucket, "results": [result]}], "has_more": False}


@pytest.mark.parametrize(
    ("line_item", "model", "token_type"),
    [
        ("tts-1", "tts-1", "characters"),
        ("tts-1-hd", "tts-1-hd", "characters"),
        ("whisper-1", "whisper-1", "seconds"),
        ("dall-e-3 1024x1024 hd", "dall-e-3", "images"),
        ("DALL-E-2, 512x512", "dall-e-2", "images"),
        ("gpt-4o-mini-2024-07-18, cached input", "gpt-4o-mini-2024-07-18", "cached_input"),
        ("web search tool calls", None, "web_search_tool_calls"),  # no model: left as before
    ],
)
def test_cost_line_items_name_their_model_and_meter(
    line_item: str, model: str | None, token_type: str
) -> None:
    ((kind, row),) = openai_cost_rows(_page(line_item), PagePosition("costs", 1), Window(DAY, DAY))
    assert kind == "costs"
    assert (row["model"], row["token_type"]) == (model, token_type)
    assert row["line_item"] == line_item
