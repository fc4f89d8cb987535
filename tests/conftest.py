"""Shared fixtures: the embedded BigQuery plugin, one warehouse for runtime tests, and the
runtime a test drives (``configs`` -> ``runtime`` -> ``client``), with local receivers.

A module picks what these hold with markers instead of its own copies:

- ``pytest.mark.pipelines(PIPELINES)``: ``configs`` is the real registry plus these
  pipelines (key ``provider/domain/name``), written once per module; without the
  marker, None: the repository's configs.
- ``pytest.mark.clock(T0)``: ``clock`` is a FixedClock at T0 (a fresh one per test) and
  the runtime runs on it; without it, None: the system clock.
- ``pytest.mark.root_key(KEY)``: ``client`` serves with PIPELINES_ROOT_KEY=KEY.

A module that needs another shape overrides the fixture of that name (its own
``configs``, a parametrized ``runtime`` built with ``runtime_factory``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from google.cloud import bigquery

from shared.adapters.bigquery.warehouse import BigQueryWarehouse
from shared.adapters.clock import FixedClock
from shared.bootstrap.embedded import EmbeddedRuntime
from tests.support.http import api_client
from tests.support.receivers import MailBox, Webhook, smtp_server, webhook_receiver
from tests.support.runtime import RuntimeFactory, make_runtime, write_configs

pytest_plugins = [
    "tests.warehouse_fixtures",
    "tests.support.emulators",
    "tests.support.object_stores",
]


def pytest_configure(config: pytest.Config) -> None:
    for marker in (
        "pipelines(mapping): the pipelines the `configs` fixture writes beside the registry",
        "clock(datetime): the `clock` fixture is a FixedClock at that time",
        "root_key(key): the `client` fixture serves with PIPELINES_ROOT_KEY set to it",
    ):
        config.addinivalue_line("markers", marker)


@pytest.fixture(scope="session")
def session_warehouse(bq_client: bigquery.Client) -> BigQueryWarehouse:
    """The session's embedded BigQuery, for runtimes whose tests isolate by org dataset."""
    return BigQueryWarehouse(bq_client, bq_client.project)


@pytest.fixture(scope="module")
def configs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path | None:
    """The configs tree of ``runtime``: the module's ``pipelines`` marker, else None."""
    marker = request.node.get_closest_marker("pipelines")
    if marker is None:
        return None
    return write_configs(tmp_path_factory.mktemp("configs"), marker.args[0])


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> FixedClock | None:
    """The runtime's clock: a FixedClock at the ``clock`` marker's time, else None."""
    marker = request.node.get_closest_marker("clock")
    start: datetime | None = marker.args[0] if marker else None
    return FixedClock(start) if start is not None else None


@pytest.fixture
def runtime_factory(
    tmp_path: Path, configs: Path | None, clock: FixedClock | None, session_warehouse: Any
) -> Iterator[RuntimeFactory]:
    """Builds embedded runtimes on the session's warehouse, closed after the test:
    ``runtime_factory(configs=..., chaos=..., clock=..., home=...)``, each defaulting to
    this test's ``configs`` and ``clock``; the first lives in tmp_path, the others in
    homes of their own below it."""
    homes = itertools.count()
    with ExitStack() as stack:

        def factory(
            configs: Path | None = configs,
            *,
            chaos: bool = False,
            clock: FixedClock | None = clock,
            home: Path | None = None,
        ) -> EmbeddedRuntime:
            n = next(homes)
            home = home or (tmp_path if n == 0 else tmp_path / f"home-{n}")
            runtime = make_runtime(
                home, configs, warehouse=session_warehouse, chaos=chaos, clock=clock
            )
            return stack.enter_context(runtime)

        yield factory


@pytest.fixture
def runtime(runtime_factory: RuntimeFactory) -> EmbeddedRuntime:
    """An embedded runtime on the session's warehouse, with ``configs`` and ``clock``."""
    return runtime_factory()


@pytest.fixture
def client(
    request: pytest.FixtureRequest, runtime: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch
) -> FlaskClient:
    """The real api function (functions-framework's Flask app) over ``runtime``."""
    if (marker := request.node.get_closest_marker("root_key")) is not None:
        monkeypatch.setenv("PIPELINES_ROOT_KEY", marker.args[0])
    return api_client(runtime, monkeypatch)


@pytest.fixture
def mail() -> Iterator[tuple[MailBox, int]]:
    """A real local SMTP server: its mailbox and port."""
    with smtp_server() as server:
        yield server


@pytest.fixture
def hook() -> Iterator[Webhook]:
    """A local webhook receiver (a Slack stand-in)."""
    with webhook_receiver() as receiver:
        yield receiver
