"""The OpenAPI 3.1 document, built from the routes (operations.py) and the pydantic models
(models.py); its output, openapi.json next to this module, is what ``GET /openapi.json``
serves (document.py). Regenerate it after changing a route or a model:

    python -m shared.entrypoints.http.openapi          # rewrites openapi.json
    python -m shared.entrypoints.http.openapi --check  # exit 1 if it is not current
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from shared.entrypoints.http import models, routes
from shared.entrypoints.http.document import OPENAPI_FILE
from shared.entrypoints.http.operations import OPERATIONS, File, Operation

REF = "#/components/schemas/{model}"

PATH_PARAMETERS = {
    "org": "The organization's slug (must be the API key's org)",
    "provider": "Provider, e.g. subscription",
    "domain": "Domain, e.g. costs",
    "pipeline": "Pipeline name",
    "run_id": "A run id",
    "backfill_id": "A backfill id",
    "schedule_id": "A schedule id",
    "job": "reset-daily | reset-monthly | reset-stale",
    "name": "the migration's file stem (001_x) or the part after its number (x)",
    "period": "day | week",
}
# status -> (components/responses name, description); every one has the Error schema
ERRORS = {
    400: ("BadRequest", "Invalid input; details.field names it"),
    401: ("Unauthorized", "Missing or wrong key"),
    403: ("Forbidden", "The subscription does not allow runs"),
    404: ("NotFound", "No such resource for this organization"),
    405: ("MethodNotAllowed", "Method not allowed on this path"),
    409: ("Conflict", "Conflicts with the current state (e.g. the run already finished)"),
    413: ("PayloadTooLarge", "Body larger than 64 KiB"),
    429: ("QuotaExceeded", "A quota limit is used up; details.limit names it"),
    500: ("Internal", "Internal error; the request was not applied"),
    503: ("Unavailable", "A dependency or configuration is missing"),
}
SECURITY_SCHEMES = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The organization's API key",
    },
    "RootKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CA-Root-Key",
        "description": "The operator's root key ($PIPELINES_ROOT_KEY); 503 when the server "
        "has none",
    },
}


def build_document() -> dict[str, Any]:
    """The document for every route of routes.py."""
    assert routes.api is not None  # the routes are registered on import
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(OPERATIONS, key=lambda o: (o.rule, o.method)):
        paths.setdefault(openapi_path(op.rule), {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pipeline Service API",
            "version": "1.0.0",
            "description": "Multi-tenant cost-data pipelines. Every error has the shape "
            '{"error": {"code", "message", "details"}}; details.field names the offending '
            "input field when there is one.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": SECURITY_SCHEMES,
            "responses": {
                name: {
                    "description": description,
                    "content": {
                        "application/json": {"schema": {"$ref": REF.format(model="Error")}}
                    },
                }
                for name, description in ERRORS.values()
            },
            "schemas": _schemas(_models()),
        },
    }


def openapi_path(rule: str) -> str:
    """A werkzeug rule (``<org>``, ``<string:org>``) in OpenAPI form (``{org}``)."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def routes_served() -> set[tuple[str, str]]:
    """Every (method, path) served, paths in OpenAPI form."""
    return {(op.method, openapi_path(op.rule)) for op in OPERATIONS}


def _operation(op: Operation) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": PATH_PARAMETERS[name],
            "schema": {"type": "string"},
        }
        for name in re.findall(r"{(\w+)}", openapi_path(op.rule))
    ]
    parameters += [
        {
            "name": q.name,
            "in": "query",
            "required": False,
            "description": q.description,
            "schema": dict(q.schema),
        }
        for q in op.query
    ]
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": parameters,
        "responses": {str(op.status): _success(op)}
        | {
            str(code): {"$ref": f"#/components/responses/{ERRORS[code][0]}"}
            for code in sorted(op.errors)
        },
        "security": [{op.security: []}] if op.security else [],
    }
    if op.description:
        out["description"] = op.description
    if op.body is not None:
        out["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": _ref(op.body)}},
        }
    return out


def _success(op: Operation) -> dict[str, Any]:
    if isinstance(op.response, File):
        return {
            "description": op.answer,
            "headers": {
                "Content-Disposition": {
                    "schema": {"type": "string"},
                    "description": op.response.disposition,
                }
            },
            "content": {kind: {"schema": dict(s)} for kind, s in op.response.content.items()},
        }
    schema = _ref(op.response) if isinstance(op.response, type) else dict(op.response)
    return {"description": op.answer, "content": {"application/json": {"schema": schema}}}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _models() -> list[type[BaseModel]]:
    """Every model an operation names, and the Error shape."""
    named: list[type[BaseModel]] = [models.Error]
    for op in OPERATIONS:
        for model in (op.body, op.response):
            if isinstance(model, type) and model not in named:
                named.append(model)
    return named


class _Schema(GenerateJsonSchema):
    """pydantic's schemas without the titles it makes up from field names."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _schemas(named: Iterable[type[BaseModel]]) -> dict[str, Any]:
    """JSON schemas of ``named`` and the models they use, for requests as validated and
    responses as sent."""
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (model, "validation" if issubclass(model, models.Body) else "serialization")
        for model in named
    ]
    _, top = models_json_schema(pairs, ref_template=REF, schema_generator=_Schema)
    schemas: dict[str, Any] = top.get("$defs", {})
    return dict(sorted(schemas.items()))


def rendered() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else "")
    parser.add_argument("--check", action="store_true", help="exit 1 if openapi.json is stale")
    args = parser.parse_args(argv)
    text = rendered()
    if args.check:
        current = OPENAPI_FILE.read_text(encoding="utf-8") == text
        if not current:
            print(f"{OPENAPI_FILE} is stale: run python -m shared.entrypoints.http.openapi")
        return 0 if current else 1
    OPENAPI_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {OPENAPI_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
