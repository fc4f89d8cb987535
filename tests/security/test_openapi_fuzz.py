"""schemathesis against shared/entrypoints/http/openapi.json, served by the real API
(functions-framework).

Every operation is fuzzed three ways: with the seeded org's API key (and the root key) and
the org / run id pinned so requests get past authentication, with schema-breaking
(negative) data under the same keys, and with no credentials at all. Every answer must be
a non-5xx, a documented status, the documented content type and match its response
schema (the Error shape for every refusal).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from google.cloud import bigquery
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.entrypoints.http.document import openapi_document
from tests.support.hostile_api import ROOT_KEY, Api, open_api

pytestmark = pytest.mark.warehouse


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory, session_warehouse: Any, bq_client: bigquery.Client
) -> Iterator[Api]:
    with open_api(tmp_path_factory, session_warehouse, bq_client) as opened:
        yield opened


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MODES = ["keyed", "keyed-negative", "anonymous"]
CASES = [
    (method.upper(), path, mode)
    for path, item in openapi_document()["paths"].items()
    for method, op in item.items()
    for mode in MODES
    # negative data needs something typed to break: a query parameter or a body (any
    # string is a valid path segment)
    if mode != "keyed-negative"
    or op.get("requestBody")
    or any(p["in"] == "query" for p in op.get("parameters", []))
]
IDS = [f"{m} {p} {mode}" for m, p, mode in CASES]


_SCHEMAS: dict[int, Any] = {}


def _schema(api: Api) -> Any:
    """The document as the app serves it, loaded once per app (parsing it takes a while)."""
    if id(api.app) not in _SCHEMAS:
        _SCHEMAS.clear()
        _SCHEMAS[id(api.app)] = schemathesis.openapi.from_wsgi("/openapi.json", api.app)
    return _SCHEMAS[id(api.app)]


def _fuzz(api: Api, method: str, path: str, mode: str, max_examples: int) -> None:
    """Fuzz one operation; then the statuses seen must fit the mode."""
    operation = _schema(api)[path][method]
    pinned: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if mode != "anonymous":
        headers = {"X-API-Key": api.key, "X-CA-Root-Key": ROOT_KEY}
    if mode == "keyed":  # pinned to the seeded org and run, so requests reach the handlers
        names = set(re.findall(r"{(\w+)}", path))
        pinned = {k: v for k, v in (("org", api.org), ("run_id", api.run_id)) if k in names}
    strategy = operation.as_strategy(
        generation_mode=(
            GenerationMode.NEGATIVE if mode == "keyed-negative" else GenerationMode.POSITIVE
        ),
        path_parameters=pinned or None,
        headers=headers or None,
    )

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases every run: a failure here is reproducible
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        response = case.call(app=api.app)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    statuses: list[int] = []
    before = api.snapshot() if mode == "anonymous" else None
    check()
    assert statuses
    secured = bool(operation.definition.raw.get("security"))
    if mode == "anonymous":
        if secured:  # no credentials: refused, and nothing written anywhere
            assert all(s in (400, 401, 404, 413) for s in statuses), statuses
        assert api.snapshot() == before
    elif mode == "keyed" and secured:
        assert set(statuses) != {401}, "the pinned keys never got past authentication"


@pytest.mark.parametrize(("method", "path", "mode"), CASES, ids=IDS)
def test_no_5xx_and_responses_match_the_document(
    api: Api, method: str, path: str, mode: str
) -> None:
    _fuzz(api, method, path, mode, max_examples=4)


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path", "mode"), CASES, ids=IDS)
def test_no_5xx_longer_run(api: Api, method: str, path: str, mode: str) -> None:
    _fuzz(api, method, path, mode, max_examples=25)
