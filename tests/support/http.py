"""The real functions-framework app over a test runtime (Flask test client)."""

from __future__ import annotations

import sys
from typing import Any

import functions_framework
import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from shared.bootstrap.embedded import EmbeddedRuntime
from tests.support.runtime import REPO


def api_client(runtime: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    app = functions_framework.create_app(target="api", source=str(REPO / "functions/api/main.py"))
    monkeypatch.setattr(sys.modules["main"], "_services", lambda: runtime.services)
    client: FlaskClient = app.test_client()
    return client


def post_run(
    client: FlaskClient, key: str, org: str, pipeline: str, body: Any = None
) -> TestResponse:
    """POST /api/v1/pipelines/run/{org}/{pipeline} (provider/domain/name) with the org's
    key; the body defaults to one day, 2026-10-01."""
    return client.post(
        f"/api/v1/pipelines/run/{org}/{pipeline}",
        json=body if body is not None else {"date": "2026-10-01"},
        headers={"X-API-Key": key},
    )
