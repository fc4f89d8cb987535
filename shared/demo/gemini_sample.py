"""GCP billing export sample with Gemini SKUs, for the Gemini GenAI pipeline's tests.

The general sample (shared/demo/gcp_sample.py: Compute Engine, Storage, BigQuery, one
Vertex AI Gemini SKU per account, Marketplace, tax, adjustments) plus, on the USD account,
per day: Gemini API (Generative Language API) and Vertex AI Gemini SKUs with input, output and
cached-input tokens of several models, a promotion credit on one of them, context cache
storage and grounding requests (Gemini meters that are not tokens), and a Vertex AI SKU that
is not Gemini (a prediction node), which the pipeline must leave alone. Deterministic:
amounts depend on the day only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.demo.gcp_sample import (
    _ACCOUNTS,
    _DAY,
    _PROJECTS,
    _Builder,
    load_export_rows,
    sample_gcp_export_rows,
)
from shared.ports import Warehouse

GEMINI_SERVICES = ("Gemini API", "Generative Language API", "Vertex AI")
_GEMINI_API = ("AEE8-C43A-E6A4", "Generative Language API")
_VERTEX = ("C7E2-9256-1C43", "Vertex AI")

# (service, sku id, sku description, millions of tokens on day 0, USD per 1M tokens)
_GEMINI_SKUS = (
    (_GEMINI_API, "GL-25P-IN", "Gemini 2.5 Pro Input Tokens", 3.0, 1.25),
    (_GEMINI_API, "GL-25P-OUT", "Gemini 2.5 Pro Output Tokens", 0.8, 10.0),
    (_GEMINI_API, "GL-25P-CIN", "Gemini 2.5 Pro Cached Input Tokens", 1.5, 0.31),
    (_VERTEX, "VX-20F-IN", "Gemini 2.0 Flash Input Tokens", 12.0, 0.15),
    (_VERTEX, "VX-20F-OUT", "Gemini 2.0 Flash Output Tokens", 2.5, 0.6),
    (_VERTEX, "VX-25FL-IN", "Gemini 2.5 Flash Lite Input Tokens", 7.0, 0.1),
)
_WEB, _ML = _PROJECTS[0], _PROJECTS[2]  # two projects: two sub-accounts
# (project, service, sku, USD a day, usage a day)
_OTHER_METERS = (
    # Gemini meters that are not tokens: kept, with the export's own units
    (
        _WEB,
        _GEMINI_API,
        ("GL-25F-CST", "Gemini 2.5 Flash Context Cache Storage"),
        2.0,
        (2e6, "token-hour", 2.0, "1M token-hours"),
    ),
    (
        _WEB,
        _GEMINI_API,
        ("GL-25P-GRD", "Gemini 2.5 Pro Grounding with Google Search"),
        0.35,
        (10.0, "count", 0.01, "1k requests"),
    ),
    # Vertex AI but not Gemini: online prediction node hours
    (
        _ML,
        _VERTEX,
        ("VX-PRED-N1", "Vertex AI: Online/Batch Prediction N1 Predefined Instance Core"),
        4.2,
        (86400.0 * 4, "seconds", 96.0, "hour"),
    ),
)


def sample_gemini_export_rows(start: date, days: int) -> Iterator[dict[str, Any]]:
    """The general sample's rows for ``days`` days from ``start``, plus Gemini SKU rows."""
    yield from sample_gcp_export_rows(start, days, hours=1)
    b = _Builder(_ACCOUNTS[0])
    midnight = datetime(start.year, start.month, start.day, tzinfo=UTC)
    for day in range(days):
        d0 = midnight + timedelta(days=day)
        for service, sku_id, description, millions, price in _GEMINI_SKUS:
            tokens = millions * (1 + day / 4)
            usage = (tokens * 1e6, "count", tokens, "1M tokens")
            promo = [("promo-ai", "Gemini trial credit", 0.25, "PROMOTION")]
            credits = promo if sku_id == "GL-25P-OUT" else []
            for project in (_WEB, _ML):
                sku = (sku_id, description)
                yield b.span(
                    d0, _DAY, project, service, sku, tokens * price, usage, credits=credits
                )
        for project, service, sku, cost, usage in _OTHER_METERS:
            yield b.span(d0, _DAY, project, service, sku, cost, usage)


def load_sample_gemini_export(
    warehouse: Warehouse, dataset: str, table: str, start: date, days: int, *, schema: str
) -> int:
    """Create ``dataset.table`` as a billing export of ``schema`` and fill it with the sample."""
    rows = sample_gemini_export_rows(start, days)
    return load_export_rows(warehouse, dataset, table, schema, rows)
