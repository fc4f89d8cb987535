"""The embedded warehouse's one-request-at-a-time lock goes in however early a request came
(no warehouse: a bare Starlette app stands for bqemulator's)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shared.adapters.bigquery.emulator import SerialisedRequests, serialise_requests


def app_that_counts() -> tuple[Starlette, list[bool]]:
    """An app whose one route records whether the emulator's lock was held around it."""
    held: list[bool] = []
    lock = asyncio.Lock()

    async def route(_: object) -> PlainTextResponse:
        held.append(lock.locked())
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/", route)])
    app.state.lock = lock
    return app, held


@pytest.mark.parametrize("probed_first", [False, True])
def test_requests_run_under_the_lock(probed_first: bool) -> None:
    app, held = app_that_counts()

    async def requests() -> str:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
            if probed_first:  # a readiness probe built the middleware stack already
                assert (await client.get("/")).status_code == 200
                assert app.middleware_stack is not None
            serialise_requests(app, app.state.lock, asyncio.Event())
            return (await client.get("/")).text

    assert asyncio.run(requests()) == "ok"
    assert held[-1] is True  # the request after serialise_requests held the lock
    if probed_first:
        assert isinstance(app.middleware_stack, SerialisedRequests)
