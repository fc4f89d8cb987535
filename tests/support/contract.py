"""The one fixture shape of the contract suites (tests/contract/): a port, once per adapter."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

# Fixtures an adapter needs before its factory runs (started only if that adapter is used).
ADAPTER_NEEDS: dict[str, str] = {"firestore": "clean_firestore", "pubsub": "pubsub_emulator"}


def adapters(factories: Mapping[str, Callable[..., Any]], *arguments: str) -> Any:
    """A fixture parametrized over ``factories`` (adapter name -> factory): each test runs
    once per adapter, on a fresh instance closed afterwards. ``arguments`` name the
    fixtures passed to every factory (e.g. "tmp_path", "clock").

    Assign it to the fixture's name in the suite: ``store = adapters(STORE_FACTORIES)``.
    """

    @pytest.fixture(params=sorted(factories))
    def adapter(request: pytest.FixtureRequest) -> Iterator[Any]:
        if request.param in ADAPTER_NEEDS:
            request.getfixturevalue(ADAPTER_NEEDS[request.param])
        instance = factories[request.param](*(request.getfixturevalue(a) for a in arguments))
        yield instance
        getattr(instance, "close", lambda: None)()

    return adapter


def together(threads: int, call: Callable[[int], T]) -> list[T]:
    """``call(i)`` from ``threads`` threads released at once (i = 0, 1, ...): the results."""
    start = threading.Barrier(threads)

    def one(i: int) -> T:
        start.wait(timeout=30)
        return call(i)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, range(threads)))
