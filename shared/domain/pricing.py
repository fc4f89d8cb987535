"""The versioned GenAI price table (configs/pricing/genai_prices.yml), validated. Pure.

Prices are per 1M tokens in the entry's currency. ``price_for`` picks the entry for a
provider, model and day: the longest model prefix, then the latest effective_from on or
before the day. Problems surface as ``ConfigError(file, "prices[i].field", message)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.domain.errors import ConfigError
from shared.domain.genai import MONEY_QUANTUM, TOKENS_PER_PRICING_UNIT

PRICE_FIELDS = (
    "input",
    "cached_input",
    "cache_write_5m",
    "cache_write_1h",
    "output",
    "batch_input",
    "batch_output",
)
Price = Decimal | None


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    model: str = Field(min_length=1)
    effective_from: date
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    input: Price = Field(default=None, ge=0)
    cached_input: Price = Field(default=None, ge=0)
    cache_write_5m: Price = Field(default=None, ge=0)
    cache_write_1h: Price = Field(default=None, ge=0)
    output: Price = Field(default=None, ge=0)
    batch_input: Price = Field(default=None, ge=0)
    batch_output: Price = Field(default=None, ge=0)

    def per_million(self, token_type: str) -> Decimal | None:
        if token_type not in PRICE_FIELDS:
            return None
        value: Decimal | None = getattr(self, token_type)
        return value

    def cost(self, token_type: str, tokens: int) -> Decimal | None:
        """Exact cost of ``tokens`` of a kind at NUMERIC scale; None if the kind has no price."""
        price = self.per_million(token_type)
        if price is None:
            return None
        return (price * tokens / TOKENS_PER_PRICING_UNIT).quantize(MONEY_QUANTUM)


class PriceTable:
    def __init__(self, entries: list[ModelPrice]) -> None:
        self.entries = entries

    def price_for(self, provider: str, model: str | None, day: date) -> ModelPrice | None:
        if not model:
            return None
        candidates = [
            e
            for e in self.entries
            if e.provider == provider and model.startswith(e.model) and e.effective_from <= day
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda e: (len(e.model), e.effective_from))


def parse_price_table(data: Any, *, file: str) -> PriceTable:
    if not isinstance(data, Mapping) or not isinstance(data.get("prices"), list):
        raise ConfigError(file, "prices", "expected a top-level 'prices' list")
    if extra := sorted(set(data) - {"prices"}):
        raise ConfigError(file, extra[0], "unknown key")
    entries: list[ModelPrice] = []
    seen: dict[tuple[str, str, date], int] = {}
    for i, raw in enumerate(data["prices"]):
        if isinstance(raw, Mapping):
            # YAML floats become Decimals through their text: 0.075 stays 0.075 exactly.
            raw = {k: str(v) if isinstance(v, float) else v for k, v in raw.items()}
        try:
            entry = ModelPrice.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(file, f"prices[{i}].{where}".rstrip("."), first["msg"]) from None
        if not any(entry.per_million(f) is not None for f in PRICE_FIELDS):
            raise ConfigError(file, f"prices[{i}]", "has no price at all")
        key = (entry.provider, entry.model, entry.effective_from)
        if key in seen:
            raise ConfigError(
                file, f"prices[{i}]", f"duplicates prices[{seen[key]}] ({'/'.join(map(str, key))})"
            )
        seen[key] = i
        entries.append(entry)
    return PriceTable(entries)
