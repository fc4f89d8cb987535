"""A local Anthropic Admin API serving generated usage pages, deterministically.

    python -m bench.genai_pages_server --port 8123 --rows 1000000 [--results-per-page 1000]

Serves ``/v1/organizations/usage_report/messages`` for October 2026: page ``k`` (cursor
``"k"``) holds one daily bucket (day ``k mod 31``) of up to ``results-per-page`` results,
each with the six non-zero meters the processor turns into six usage rows, until
``rows`` rows have been served. The same request always gets the same page, so the
extraction does real HTTP I/O (httpx, JSON) on data that never changes between runs.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

USAGE_PATH = "/v1/organizations/usage_report/messages"
START = date(2026, 10, 1)
DAYS = 31
ROWS_PER_RESULT = 6  # input, cached_input, cache_write_5m, cache_write_1h, output, web_search
_MODELS = ("claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5")


def page_count(rows: int, results_per_page: int) -> int:
    results = -(-rows // ROWS_PER_RESULT)
    return max(1, -(-results // results_per_page))


def usage_page(number: int, rows: int, results_per_page: int) -> dict[str, Any]:
    """Page ``number`` (0-based) of a listing of ``rows`` usage rows."""
    total_results = -(-rows // ROWS_PER_RESULT)
    pages = page_count(rows, results_per_page)
    first = number * results_per_page
    count = max(0, min(results_per_page, total_results - first))
    day = START + timedelta(days=number % DAYS)
    results = [
        {
            "workspace_id": f"wrkspc_{(first + i) % 97:03d}",
            "model": _MODELS[(first + i) % len(_MODELS)],
            # Each result its own group (as the API aggregates): a repeated group key in a
            # bucket is refused by the extractor as a double count.
            "api_key_id": f"apikey_{first + i:07d}",
            "uncached_input_tokens": 1000 + (first + i) % 5000,
            "cache_read_input_tokens": 200 + (first + i) % 700,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 50 + (first + i) % 90,
                "ephemeral_1h_input_tokens": 10 + (first + i) % 30,
            },
            "output_tokens": 300 + (first + i) % 2000,
            "server_tool_use": {"web_search_requests": 1 + (first + i) % 3},
        }
        for i in range(count)
    ]
    more = number + 1 < pages
    return {
        "data": [
            {
                "starting_at": f"{day:%Y-%m-%d}T00:00:00Z",
                "ending_at": f"{day + timedelta(days=1):%Y-%m-%d}T00:00:00Z",
                "results": results,
            }
        ],
        "has_more": more,
        "next_page": str(number + 1) if more else None,
    }


def serve(port: int, rows: int, results_per_page: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != USAGE_PATH:
                self._answer(404, {"error": {"type": "not_found_error", "message": url.path}})
                return
            cursor = parse_qs(url.query).get("page", ["0"])[0]
            self._answer(200, usage_page(int(cursor), rows, results_per_page))

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per page on stderr would only be noise

    with ThreadingHTTPServer(("127.0.0.1", port), Handler) as server:
        server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.genai_pages_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--results-per-page", type=int, default=1000)
    args = parser.parse_args(argv)
    serve(args.port, args.rows, args.results_per_page)


if __name__ == "__main__":
    main()
