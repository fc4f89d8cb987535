"""The OpenAPI document: generated from the routes and models and checked in current,
valid, in step with the routes both ways, one error shape."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from shared.entrypoints.http import openapi
from shared.entrypoints.http.document import OPENAPI_FILE
from shared.entrypoints.http.openapi import routes_served
from tests.support.http import api_client
from tests.support.runtime import make_runtime

DOC: dict[str, Any] = json.loads(OPENAPI_FILE.read_text())
OPERATIONS = [
    (method.upper(), path, op) for path, item in DOC["paths"].items() for method, op in item.items()
]


def test_checked_in_document_is_the_generated_one() -> None:
    assert OPENAPI_FILE.read_text(encoding="utf-8") == openapi.rendered(), (
        "shared/entrypoints/http/openapi.json is stale: run "
        "python -m shared.entrypoints.http.openapi"
    )
    assert openapi.main(["--check"]) == 0


def test_document_is_valid_openapi() -> None:
    validate(DOC)


def test_routes_and_document_agree_both_ways() -> None:
    documented = {(method, path) for method, path, _ in OPERATIONS}
    served = routes_served()
    assert served - documented == set(), "routes missing from shared/entrypoints/http/openapi.json"
    assert documented - served == set(), "documented operations with no route"


@pytest.mark.parametrize(
    ("method", "path", "op"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS]
)
def test_every_operation_declares_its_parameters_and_error_shape(
    method: str, path: str, op: dict[str, Any]
) -> None:
    declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
    assert declared == set(re.findall(r"{(\w+)}", path))
    errors = {code: r for code, r in op["responses"].items() if code[0] in "45"}
    assert "500" in errors
    for response in errors.values():
        target = DOC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        assert target["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
    if op["security"]:
        assert "401" in errors


@pytest.fixture
def client(
    tmp_path: Path, session_warehouse: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FlaskClient]:
    monkeypatch.delenv("PIPELINES_ROOT_KEY", raising=False)
    with make_runtime(tmp_path, warehouse=session_warehouse) as runtime:
        yield api_client(runtime, monkeypatch)


def test_served_document_is_the_file(client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == DOC


def test_every_refused_call_has_the_error_shape_and_a_documented_status(
    client: FlaskClient,
) -> None:
    """Call every operation without credentials and with made-up ids."""
    sample = {"provider": "nope", "domain": "costs", "pipeline": "nope", "org": "acme"}
    for method, path, op in OPERATIONS:
        url = re.sub(r"{(\w+)}", lambda m: sample.get(m.group(1), "x-1"), path)
        response = client.open(url, method=method, json={})
        if response.status_code < 400:
            assert not op["security"], f"{method} {path} answered without credentials"
            continue
        assert str(response.status_code) in op["responses"], f"{method} {path}"
        _assert_error_shape(response.get_json())
    for url, method in (("/api/v1/nothing", "GET"), ("/api/v1/pipelines/runs", "DELETE")):
        _assert_error_shape(client.open(url, method=method).get_json())


def _assert_error_shape(body: Any) -> None:
    """The Error schema of the document, checked field by field."""
    schema = DOC["components"]["schemas"]["Error"]
    assert set(body) == set(schema["required"])
    error = body["error"]
    error_schema = schema["properties"]["error"]
    if "$ref" in error_schema:  # the generator names the inner object too
        error_schema = DOC["components"]["schemas"][error_schema["$ref"].rsplit("/", 1)[1]]
    assert set(error) == set(error_schema["required"])
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], dict)
