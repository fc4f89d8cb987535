"""Fixtures most integration modules share; a module that needs another shape (its own
configs, a chaos runtime) defines its own fixture of the same name, which wins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from shared.bootstrap.embedded import EmbeddedRuntime
from tests.support.http import api_client
from tests.support.runtime import make_runtime


@pytest.fixture
def runtime(tmp_path: Path, session_warehouse: Any) -> Iterator[EmbeddedRuntime]:
    """An embedded runtime on the session's warehouse, with the repository's configs."""
    with make_runtime(tmp_path, warehouse=session_warehouse) as rt:
        yield rt


@pytest.fixture
def client(runtime: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    """The real api function (functions-framework's Flask app) over ``runtime``."""
    return api_client(runtime, monkeypatch)
