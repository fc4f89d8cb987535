"""The real functions-framework app over a test runtime (Flask test client)."""

from __future__ import annotations

import sys

import functions_framework
import pytest
from flask.testing import FlaskClient

from shared.bootstrap.embedded import EmbeddedRuntime
from tests.support.runtime import REPO


def api_client(runtime: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    app = functions_framework.create_app(target="api", source=str(REPO / "functions/api/main.py"))
    monkeypatch.setattr(sys.modules["main"], "_services", lambda: runtime.services)
    client: FlaskClient = app.test_client()
    return client
