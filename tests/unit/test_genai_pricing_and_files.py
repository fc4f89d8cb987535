"""The price table model, and the usage CSV reader (pure parts of the GenAI processors)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from shared.config.pricing import load_price_table
from shared.domain.errors import ConfigError, StepFailure
from shared.domain.pricing import parse_price_table
from shared.processors.genai_payg import local_path, usage_csv_rows

ENTRY = {"provider": "openai", "model": "gpt-4o", "currency": "USD", "input": 2.5}


def _table(*entries: dict[str, Any]) -> Any:
    return parse_price_table({"prices": list(entries)}, file="p.yml")


def test_longest_model_prefix_then_latest_effective_price_wins() -> None:
    table = _table(
        {**ENTRY, "effective_from": date(2024, 1, 1), "input": 5},
        {**ENTRY, "effective_from": date(2024, 10, 1)},
        {**ENTRY, "model": "gpt-4o-mini", "effective_from": date(2024, 7, 1), "input": 0.15},
    )
    assert table.price_for("openai", "gpt-4o-2024-08-06", date(2024, 9, 30)).input == 5
    assert table.price_for("openai", "gpt-4o-2024-08-06", date(2024, 10, 1)).input == Decimal("2.5")
    assert (
        table.price_for("openai", "gpt-4o-mini-2024-07-18", date(2025, 1, 1)).model == "gpt-4o-mini"
    )
    assert table.price_for("openai", "gpt-4o", date(2023, 12, 31)) is None  # not yet effective
    assert table.price_for("anthropic", "gpt-4o", date(2025, 1, 1)) is None
    assert table.price_for("openai", None, date(2025, 1, 1)) is None


def test_costs_are_exact_per_million_and_missing_kinds_are_unpriced() -> None:
    price = _table({**ENTRY, "effective_from": date(2024, 1, 1), "cached_input": 0.075})
    entry = price.price_for("openai", "gpt-4o", date(2025, 1, 1))
    assert entry.cost("cached_input", 1_234_567) == Decimal("0.092592525")
    assert entry.cost("input", 1_000_000) == Decimal("2.5")
    assert entry.cost("output", 10) is None
    assert entry.cost("images", 10) is None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"prices": [{**ENTRY, "effective_from": "2024-01-01", "input": -1}]},
            "prices[0].input",
            "greater than or equal",
        ),
        (
            {"prices": [{**ENTRY, "effective_from": "2024-01-01", "currency": "usd"}]},
            "prices[0].currency",
            "pattern",
        ),
        (
            {"prices": [{**ENTRY, "effective_from": "2024-01-01", "typo": 1}]},
            "prices[0].typo",
            "Extra inputs",
        ),
        (
            {
                "prices": [
                    {
                        "provider": "openai",
                        "model": "m",
                        "currency": "USD",
                        "effective_from": "2024-01-01",
                    }
                ]
            },
            "prices[0]",
            "no price",
        ),
        (
            {"prices": [{**ENTRY, "effective_from": "2024-01-01"}] * 2},
            "prices[1]",
            "duplicates prices[0]",
        ),
        ({"price": []}, "prices", "top-level 'prices' list"),
    ],
)
def test_bad_price_tables_name_file_and_field(data: Any, field: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_price_table(data, file="configs/pricing/genai_prices.yml")
    assert err.value.file == "configs/pricing/genai_prices.yml"
    assert err.value.field == field
    assert message in err.value.reason


def test_the_shipped_price_table_is_valid() -> None:
    table = load_price_table()
    assert {e.provider for e in table.entries} >= {"openai", "anthropic", "deepseek"}
    sonnet = table.price_for("anthropic", "claude-sonnet-4-20250514", date(2026, 10, 1))
    assert sonnet is not None
    assert sonnet.cache_write_1h == Decimal("6.00")


CSV = """date,model,sub_account_id,input_tokens,cached_input_tokens,output_tokens
2026-10-01,deepseek-chat,key_a,1000,200,300
2026-10-02,deepseek-reasoner,,5,,0
2026-09-30,deepseek-chat,key_a,1,1,1
"""


def test_usage_csv_rows_are_long_format_and_skip_other_days() -> None:
    skipped = [0]
    rows = list(
        usage_csv_rows(
            io.StringIO(CSV), "u.csv", "deepseek", date(2026, 10, 1), date(2026, 10, 31), skipped
        )
    )
    assert [(r["usage_date"].day, r["model"], r["token_type"], r["quantity"]) for r in rows] == [
        (1, "deepseek-chat", "input", 1000),
        (1, "deepseek-chat", "cached_input", 200),
        (1, "deepseek-chat", "output", 300),
        (2, "deepseek-reasoner", "input", 5),
    ]
    assert rows[0]["pricing_quantity"] == Decimal("0.001")
    assert rows[0]["pricing_unit"] == "1M Tokens"
    assert rows[3]["sub_account_id"] is None
    assert skipped == [1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,model,tokens\n", "u.csv line 1: unknown column(s) tokens"),
        ("model,input_tokens\n", "u.csv line 1: missing column(s) date"),
        (
            "date,model,input_tokens\n2026-10-01,m,12\n2026-13-01,m,1\n",
            "u.csv line 3: date '2026-13-01'",
        ),
        ("date,model,output_tokens\n2026-10-01,m,-4\n", "u.csv line 2: output_tokens '-4' is not"),
        ("date,model,output_tokens\n2026-10-01,,4\n", "u.csv line 2: model is empty"),
        ("date,model\n2026-10-01,m,extra\n", "u.csv line 2: more fields than the header"),
    ],
)
def test_bad_usage_files_name_the_line(text: str, message: str) -> None:
    with pytest.raises(StepFailure, match=message.replace("(", r"\(").replace(")", r"\)")):
        list(
            usage_csv_rows(
                io.StringIO(text), "u.csv", "deepseek", date(2026, 10, 1), date(2026, 10, 31), [0]
            )
        )


def test_local_path_takes_paths_and_file_uris_only() -> None:
    assert str(local_path("file:///data/x%20y.csv")) == "/data/x y.csv"
    assert str(local_path("/data/u.csv")) == "/data/u.csv"
    with pytest.raises(StepFailure, match="only local files"):
        local_path("s3://bucket/u.csv")
