"""Recording wrappers for the ports: every call the engine makes, with the org it acted for.

The org a call is made for comes from a thread-local "acting org": the test sets it around
its own calls (``acting_as``), and ``attribute_handlers`` sets it from each bus message
(StepRequest / StepEvent carry their org) before the runner or the coordinator runs. Calls
submitted to the runner's and the notifier's pools carry the acting org of the thread that
submitted them; calls made on any other thread are recorded with no acting org.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

import shared.bootstrap.embedded
import shared.handlers.run_step
from shared.domain.messages import Message

_acting = threading.local()


def acting_org() -> str | None:
    org: str | None = getattr(_acting, "org", None)
    return org


@contextmanager
def acting_as(org: str | None) -> Iterator[None]:
    previous = acting_org()
    _acting.org = org
    try:
        yield
    finally:
        _acting.org = previous


@dataclass(frozen=True)
class Recorded:
    port: str
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    org: str | None  # the acting org when the call was made
    thread: str


class Recorder:
    """A proxy over a port that records each method call, then forwards it."""

    def __init__(self, inner: Any, port: str, calls: list[Recorded]) -> None:
        self._inner, self._port, self._calls = inner, port, calls
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr  # e.g. Warehouse.project_id

        def record(*args: Any, **kwargs: Any) -> Any:
            entry = Recorded(
                self._port, name, args, kwargs, acting_org(), threading.current_thread().name
            )
            with self._lock:
                self._calls.append(entry)
            return attr(*args, **kwargs)

        return record


def attribute_handlers(monkeypatch: pytest.MonkeyPatch, notifier: Any) -> None:
    """Make the embedded runtime's step runner and coordinator act as the message's org,
    and the work they hand to the processor and notifier pools act as that org too."""

    def acting(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def run(services: Any, message: Message) -> Any:
            with acting_as(getattr(message, "org_slug", None)):
                return handler(services, message)

        return run

    # shared.bootstrap.embedded calls these by their module-level names, looked up on each message
    for name in ("run_step", "coordinate"):
        monkeypatch.setattr(
            shared.bootstrap.embedded, name, acting(getattr(shared.bootstrap.embedded, name))
        )
    # processors run on the runner's thread pool: carry the acting org over to it
    monkeypatch.setattr(
        shared.handlers.run_step, "_executor", _Carrying(shared.handlers.run_step._executor)
    )
    monkeypatch.setattr(notifier, "_executor", _Carrying(notifier._executor))


class _Carrying:
    """An executor that runs each task as the org acting where it was submitted."""

    def __init__(self, inner: ThreadPoolExecutor) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # shutdown() and the rest

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        org = acting_org()

        def run() -> Any:
            with acting_as(org):
                return fn()

        return self._inner.submit(run)
