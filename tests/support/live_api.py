"""The API function served over real HTTP (a threaded WSGI server on a free port), and
bursts of concurrent clients against it."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import functions_framework
import httpx
import pytest
from werkzeug.serving import make_server

from shared.handlers.services import Services
from tests.support.runtime import REPO


@contextmanager
def serve_api(services: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """functions/api/main.py's app on 127.0.0.1:<free port>, one thread per request
    (as Cloud Run serves concurrent requests); yields the base URL."""
    app = functions_framework.create_app(target="api", source=str(REPO / "functions/api/main.py"))
    monkeypatch.setattr(sys.modules["main"], "_services", lambda: services)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]


def post(url: str, body: dict[str, Any], api_key: str, *, timeout: float = 60) -> Answer:
    response = httpx.post(url, json=body, headers={"X-API-Key": api_key}, timeout=timeout)
    return Answer(response.status_code, response.json())


def burst(url: str, body: dict[str, Any], api_key: str, clients: int) -> list[Answer]:
    """``clients`` POSTs of ``body``, each from its own thread and connection, released
    together by a barrier so they really overlap at the server."""
    start = threading.Barrier(clients)

    def one(_: int) -> Answer:
        start.wait(timeout=30)
        return post(url, body, api_key)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(one, range(clients)))


def statuses(answers: Sequence[Answer]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for answer in answers:
        counts[answer.status] = counts.get(answer.status, 0) + 1
    return counts
