"""A local HTTP server that speaks the OpenAI and Anthropic Admin API report shapes.

SAMPLE DATA: every number it serves is synthetic, derived deterministically from the day,
project/workspace and model (the same request always gets the same answer). It exists for
``make run`` and the tests: no network, no real key. Shapes follow
../shared/reference/SOURCES_AND_FOCUS.md section 3, including paging (``limit`` buckets per
page, capped by ``page_size`` so a month spans several pages), 401 for a wrong key and 400
for a missing required parameter.

Tests script faults per path with :meth:`SampleGenAIServer.script`: each scripted response
answers one request to that path, in order (``None`` = serve normally), e.g. a 429 with
Retry-After, a storm of 500s, a malformed page, a connection dropped mid-body or a
response slower than the client's read timeout.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SAMPLE_LABEL = "SAMPLE DATA (synthetic, deterministic) - not real provider usage"

# Sample list prices, USD per 1M tokens (the same figures as configs/pricing/genai_prices.yml).
OPENAI_SAMPLE_PRICES: dict[str, dict[str, Decimal]] = {
    "gpt-4o-2024-08-06": {
        "input": Decimal("2.50"),
        "cached_input": Decimal("1.25"),
        "output": Decimal("10.00"),
    },
    "gpt-4o-mini-2024-07-18": {
        "input": Decimal("0.15"),
        "cached_input": Decimal("0.075"),
        "output": Decimal("0.60"),
    },
    "text-embedding-3-small": {"input": Decimal("0.02")},
}
OPENAI_PROJECTS = ("proj_sample_web", "proj_sample_research")
ANTHROPIC_SAMPLE_PRICES: dict[str, dict[str, Decimal]] = {
    "claude-sonnet-4-20250514": {
        "input": Decimal("3"),
        "cached_input": Decimal("0.30"),
        "cache_write_5m": Decimal("3.75"),
        "cache_write_1h": Decimal("6"),
        "output": Decimal("15"),
    },
    "claude-3-5-haiku-20241022": {
        "input": Decimal("0.80"),
        "cached_input": Decimal("0.08"),
        "cache_write_5m": Decimal("1"),
        "cache_write_1h": Decimal("1.6"),
        "output": Decimal("4"),
    },
}
ANTHROPIC_WORKSPACES = ("wrkspc_sample_prod", None)  # None = the default workspace
ANTHROPIC_WEB_SEARCH_CENTS = Decimal(1)  # $10 per 1,000 searches
_ANTHROPIC_TOKEN_FIELDS = {
    "input": "uncached_input_tokens",
    "cached_input": "cache_read_input_tokens",
    "cache_write_5m": "cache_creation.ephemeral_5m_input_tokens",
    "cache_write_1h": "cache_creation.ephemeral_1h_input_tokens",
    "output": "output_tokens",
}
_MILLION = Decimal(1_000_000)
_OPENAI_USAGE_PATHS = {
    "completions",
    "embeddings",
    "images",
    "audio_speeches",
    "audio_transcriptions",
}


@dataclass(frozen=True, slots=True)
class Scripted:
    status: int
    body: Any = None  # dict/list -> JSON; str/bytes sent as is; None: the normal answer
    headers: dict[str, str] = field(default_factory=dict)
    # A dropped connection: only this many bytes of the body are sent (Content-Length still
    # promises all of it), then the socket closes.
    cut_at: int | None = None
    stall_seconds: float = 0.0  # wait this long before answering (a client read timeout)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    path: str
    query: dict[str, list[str]]
    at: float  # time.monotonic() on arrival


def _n(*parts: object, low: int, high: int) -> int:
    """A deterministic pseudo-random integer in [low, high] for the given key."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return low + int.from_bytes(digest[:8], "big") % (high - low + 1)


# -- sample data -------------------------------------------------------------------------
def openai_usage(endpoint: str, day: date) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for project in OPENAI_PROJECTS:
        if endpoint == "completions":
            for model in ("gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18"):
                total = _n(day, project, model, "in", low=200_000, high=3_000_000)
                results.append(
                    {
                        "object": "organization.usage.completions.result",
                        "input_tokens": total,
                        "input_cached_tokens": total // _n(day, project, model, low=3, high=9),
                        "output_tokens": _n(day, project, model, "out", low=20_000, high=600_000),
                        "input_audio_tokens": 0,
                        "output_audio_tokens": 0,
                        "num_model_requests": _n(day, project, model, low=50, high=900),
                        "project_id": project,
                        "model": model,
                        "user_id": None,
                        "api_key_id": None,
                        "batch": None,
                    }
                )
        elif endpoint == "embeddings":
            results.append(
                {
                    "object": "organization.usage.embeddings.result",
                    "input_tokens": _n(day, project, "emb", low=100_000, high=5_000_000),
                    "num_model_requests": _n(day, project, "emb-r", low=10, high=200),
                    "project_id": project,
                    "model": "text-embedding-3-small",
                }
            )
        elif endpoint in _OPENAI_METER_ENDPOINTS and project == OPENAI_PROJECTS[0]:
            meter, model, most, _, _ = _OPENAI_METER_ENDPOINTS[endpoint]
            results.append(
                {
                    "object": f"organization.usage.{endpoint}.result",
                    meter: _n(day, meter, low=0, high=most),
                    "num_model_requests": _n(day, meter, "requests", low=0, high=min(most, 300)),
                    "project_id": project,
                    "model": model,
                }
            )
    return results


# OpenAI's non-token meters, reported for the first project only: endpoint, (the meter,
# the model, most units a day, the cost line item naming the model (an image's size and
# quality after it), the list price per unit).
_OPENAI_METER_ENDPOINTS: dict[str, tuple[str, str, int, str, Decimal]] = {
    "images": ("images", "dall-e-3", 12, "dall-e-3 1024x1024 hd", Decimal("0.08")),
    "audio_speeches": ("characters", "tts-1", 400_000, "tts-1", Decimal("0.000015")),
    "audio_transcriptions": ("seconds", "whisper-1", 20_000, "whisper-1", Decimal("0.0001")),
}
# (endpoint, meter, cost line item, price per unit) of each.
OPENAI_METER_COSTS = tuple(
    (endpoint, meter, line_item, price)
    for endpoint, (meter, _, _, line_item, price) in _OPENAI_METER_ENDPOINTS.items()
)


def openai_costs(day: date) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for project in OPENAI_PROJECTS:
        for endpoint in ("completions", "embeddings"):
            for usage in openai_usage(endpoint, day):
                if usage["project_id"] != project:
                    continue
                model = usage["model"]
                prices = OPENAI_SAMPLE_PRICES[model]
                cached = usage.get("input_cached_tokens", 0)
                quantities = {
                    "input": usage["input_tokens"] - cached,
                    "cached input": cached,
                    "output": usage.get("output_tokens", 0),
                }
                for kind, quantity in quantities.items():
                    price = prices.get(kind.replace(" ", "_"))
                    if price is None or not quantity:
                        continue
                    results.append(
                        {
                            "object": "organization.costs.result",
                            # A float, as OpenAI sends it.
                            "amount": {
                                "value": float(quantity * price / _MILLION),
                                "currency": "usd",
                            },
                            "line_item": f"{model}, {kind}",
                            "project_id": project,
                        }
                    )
        for endpoint, meter, line_item, unit_price in OPENAI_METER_COSTS:
            for usage in openai_usage(endpoint, day):
                if usage["project_id"] == project and usage[meter]:
                    results.append(
                        {
                            "object": "organization.costs.result",
                            "amount": {
                                "value": float(usage[meter] * unit_price),
                                "currency": "usd",
                            },
                            "line_item": line_item,
                            "project_id": project,
                        }
                    )
        # A charge with no token usage behind it (it still has to reach FOCUS).
        if project == OPENAI_PROJECTS[0]:
            searches = _n(day, "search", low=0, high=40)
            if searches:
                results.append(
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": searches * 0.025, "currency": "usd"},
                        "line_item": "web search tool calls",
                        "project_id": project,
                    }
                )
    return results


def anthropic_active(day: date) -> bool:
    return day.day % 10 != 0  # every 10th day has no traffic: empty buckets


def anthropic_usage(day: date) -> list[dict[str, Any]]:
    if not anthropic_active(day):
        return []
    results = []
    for workspace in ANTHROPIC_WORKSPACES:
        for model in ANTHROPIC_SAMPLE_PRICES:
            t = {
                kind: _n(day, workspace, model, kind, low=0, high=900_000)
                for kind in _ANTHROPIC_TOKEN_FIELDS
            }
            results.append(
                {
                    "uncached_input_tokens": t["input"],
                    "cache_read_input_tokens": t["cached_input"],
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": t["cache_write_5m"],
                        "ephemeral_1h_input_tokens": t["cache_write_1h"] // 10,
                    },
                    "output_tokens": t["output"] // 4,
                    "server_tool_use": {
                        "web_search_requests": _n(day, workspace, model, "ws", low=0, high=30)
                    },
                    "workspace_id": workspace,
                    "model": model,
                    "api_key_id": None,
                    "service_tier": None,
                    "context_window": None,
                }
            )
    return results


def anthropic_costs(day: date) -> list[dict[str, Any]]:
    results = []
    for usage in anthropic_usage(day):
        model = usage["model"]
        quantities = {
            "input": usage["uncached_input_tokens"],
            "cached_input": usage["cache_read_input_tokens"],
            "cache_write_5m": usage["cache_creation"]["ephemeral_5m_input_tokens"],
            "cache_write_1h": usage["cache_creation"]["ephemeral_1h_input_tokens"],
            "output": usage["output_tokens"],
        }
        for kind, quantity in quantities.items():
            cents = quantity * ANTHROPIC_SAMPLE_PRICES[model][kind] * 100 / _MILLION
            results.append(
                _anthropic_cost(usage, "tokens", cents, _ANTHROPIC_TOKEN_FIELDS[kind], kind)
            )
        searches = usage["server_tool_use"]["web_search_requests"]
        if searches:
            results.append(
                _anthropic_cost(
                    usage, "web_search", searches * ANTHROPIC_WEB_SEARCH_CENTS, None, "web search"
                )
            )
    return results


def _anthropic_cost(
    usage: dict[str, Any], cost_type: str, cents: Decimal, token_type: str | None, what: str
) -> dict[str, Any]:
    return {
        "currency": "USD",
        "amount": f"{cents.normalize():f}",  # a decimal string in cents
        "workspace_id": usage["workspace_id"],
        "description": f"{usage['model']} usage - {what}",
        "cost_type": cost_type,
        "context_window": "0-200k",
        "model": usage["model"],
        "service_tier": "standard",
        "token_type": token_type,
        "inference_geo": None,
    }


# -- the server --------------------------------------------------------------------------
class SampleGenAIServer:
    """Runs on 127.0.0.1 in a daemon thread; use as a context manager."""

    def __init__(
        self, *, openai_key: str, anthropic_key: str, page_size: int = 7, port: int = 0
    ) -> None:
        self.openai_key = openai_key
        self.anthropic_key = anthropic_key
        self.page_size = page_size
        self.requests: list[RecordedRequest] = []
        self._scripts: dict[str, deque[Scripted | None]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    def start(self) -> SampleGenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> SampleGenAIServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def script(self, path: str, responses: list[Scripted | None]) -> None:
        with self._lock:
            self._scripts[path].extend(responses)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # -- request handling ----------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                with server._lock:
                    server.requests.append(RecordedRequest(parts.path, query, time.monotonic()))
                    queue = server._scripts.get(parts.path)
                    scripted = queue.popleft() if queue else None
                if scripted is not None:
                    time.sleep(scripted.stall_seconds)
                    body = scripted.body
                    if body is None:
                        body = server._answer(parts.path, query, self.headers)[1]
                    self._send(scripted.status, body, scripted.headers, scripted.cut_at)
                    return
                status, body = server._answer(parts.path, query, self.headers)
                self._send(status, body, server._answer_headers(parts.path, query))

            def _send(
                self, status: int, body: Any, headers: dict[str, str], cut_at: int | None = None
            ) -> None:
                if isinstance(body, dict | list):
                    payload = json.dumps(body).encode()
                elif isinstance(body, str):
                    payload = body.encode()
                else:
                    payload = body or b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if cut_at is None:
                    self.wfile.write(payload)
                    return
                self.wfile.write(payload[:cut_at])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the demo prints its own progress

        return Handler

    def _answer(self, path: str, query: dict[str, list[str]], headers: Any) -> tuple[int, Any]:
        if path.startswith("/v1/organization/"):
            if headers.get("Authorization") != f"Bearer {self.openai_key}":
                return 401, _error("invalid_api_key", "Incorrect API key provided")
            endpoint = path.removeprefix("/v1/organization/")
            try:
                days = _days_unix(query)
            except (KeyError, ValueError):
                return 400, _error("invalid_request_error", "start_time is required")
            if endpoint == "costs":
                return 200, self._page(query, days, openai_costs, unix=True)
            name = endpoint.removeprefix("usage/")
            if endpoint.startswith("usage/") and name in _OPENAI_USAGE_PATHS:
                return 200, self._page(query, days, lambda d: openai_usage(name, d), unix=True)
            return 404, _error("not_found", f"no route {path}")
        if path.startswith("/v1/organizations/"):
            if headers.get("x-api-key") != self.anthropic_key:
                return 401, _error("authentication_error", "invalid x-api-key")
            if not headers.get("anthropic-version"):
                return 400, _error("invalid_request_error", "anthropic-version header is required")
            try:
                days = _days_rfc3339(query)
            except (KeyError, ValueError):
                return 400, _error("invalid_request_error", "starting_at is required")
            if path.endswith("/usage_report/messages"):
                return 200, self._page(query, days, anthropic_usage, unix=False)
            if path.endswith("/cost_report"):
                return 200, self._page(query, days, anthropic_costs, unix=False)
        return 404, _error("not_found", f"no route {path}")

    def _answer_headers(self, path: str, query: dict[str, list[str]]) -> dict[str, str]:
        """Headers of the normal answer beyond Content-Type (a subclass's Link, say)."""
        return {}

    def _page(
        self, query: dict[str, list[str]], days: list[date], results: Any, *, unix: bool
    ) -> dict[str, Any]:
        limit = min(int(query.get("limit", ["7"])[0]), self.page_size)
        offset = int(query.get("page", ["page_0"])[0].removeprefix("page_"))
        chunk = days[offset : offset + limit]
        buckets = []
        for day in chunk:
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            end = start + timedelta(days=1)
            if unix:
                buckets.append(
                    {
                        "object": "bucket",
                        "start_time": int(start.timestamp()),
                        "end_time": int(end.timestamp()),
                        "results": results(day),
                    }
                )
            else:
                buckets.append(
                    {
                        "starting_at": f"{start:%Y-%m-%dT%H:%M:%SZ}",
                        "ending_at": f"{end:%Y-%m-%dT%H:%M:%SZ}",
                        "results": results(day),
                    }
                )
        more = offset + limit < len(days)
        return {
            "object": "page",
            "data": buckets,
            "has_more": more,
            "next_page": f"page_{offset + limit}" if more else None,
        }


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def _days_unix(query: dict[str, list[str]]) -> list[date]:
    start = datetime.fromtimestamp(int(query["start_time"][0]), UTC)
    end = datetime.fromtimestamp(int(query["end_time"][0]), UTC)
    return _day_range(start, end)


def _days_rfc3339(query: dict[str, list[str]]) -> list[date]:
    start = datetime.fromisoformat(query["starting_at"][0].replace("Z", "+00:00"))
    end = datetime.fromisoformat(query["ending_at"][0].replace("Z", "+00:00"))
    return _day_range(start, end)


def _day_range(start: datetime, end: datetime) -> list[date]:
    days = []
    day = start.date()
    while datetime(day.year, day.month, day.day, tzinfo=UTC) < end:
        days.append(day)
        day += timedelta(days=1)
    return days
