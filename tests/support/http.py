"""The real functions-framework app over a test runtime (Flask test client), and the
API's own Flask app called directly (for suites that drive hundreds of calls)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import functions_framework
import pytest
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.entrypoints.http.app import create_app
from shared.handlers.services import Services
from tests.support.runtime import REPO


def api_client(runtime: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    app = functions_framework.create_app(target="api", source=str(REPO / "functions/api/main.py"))
    monkeypatch.setattr(sys.modules["main"], "_services", lambda: runtime.services)
    client: FlaskClient = app.test_client()
    return client


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]  # {} for a file download
    raw: bytes | None  # the bytes of a file download, None for JSON

    def text(self) -> str:
        return self.raw.decode() if self.raw is not None else json.dumps(self.body)


def call_api(
    services: Services,
    method: str,
    path: str,
    headers: Mapping[str, str],
    query: Mapping[str, str] | None = None,
    body: bytes = b"",
) -> Answer:
    """One request to the API's app over ``services``."""
    client = create_app(lambda: services).test_client()
    response = client.open(
        path, method=method, headers=dict(headers), query_string=dict(query or {}), data=body
    )
    if response.is_json:
        return Answer(response.status_code, response.get_json(), None)
    return Answer(response.status_code, {}, response.get_data())


def api_rules() -> list[Rule]:
    """The routes the API serves (endpoints without the Blueprint's ``api.`` prefix)."""
    rules = create_app(lambda: None).url_map.iter_rules()  # type: ignore[arg-type,return-value]
    return [r for r in rules if str(r.endpoint).startswith("api.")]


def endpoint_name(rule: Rule) -> str:
    return str(rule.endpoint).removeprefix("api.")


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
