"""Reading a request: the JSON body (bounded), validated into a pydantic model, and the
query parameters the routes share.

The body is read once, at most ``MAX_BODY_BYTES + 1`` bytes (app.py), before any route
runs; a route that takes a body refuses a larger one with 413 here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

import flask
from pydantic import ValidationError

from shared.domain.bodies import reject_unknown
from shared.domain.errors import BadRequest, PayloadTooLarge
from shared.entrypoints.http.models import Body

MAX_BODY_BYTES = 64 * 1024
BodyModel = TypeVar("BodyModel", bound=Body)


def raw_body() -> bytes:
    """The bytes read by app.py (at most one past the limit)."""
    body: bytes = flask.g.get("body", b"")
    return body


def json_object() -> dict[str, Any]:
    """The body as a JSON object (``{}`` when empty)."""
    raw = raw_body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    except RecursionError:  # [[[[... within the size limit: json recurses per level
        raise BadRequest("body is nested too deeply to be a request") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def described_body(model: type[Body]) -> dict[str, Any]:
    """The JSON object, its top-level fields checked against ``model`` (a body whose
    handler checks the values)."""
    body = json_object()
    if model.model_config.get("extra") == "forbid":
        reject_unknown(body, model.model_fields)
    return body


def parse_body(model: type[BodyModel]) -> BodyModel:
    """The JSON object validated into ``model``: an unknown field or a bad value is a 400
    naming the field's path (``parameters.region``), never echoing the value."""
    body = described_body(model)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        path = ".".join(str(part) for part in first["loc"])
        top = str(first["loc"][0]) if first["loc"] else ""
        message = model.MESSAGES.get(top) or f"{path or 'body'}: {first['msg']}"
        field = model.FIELD or path
        raise BadRequest(message, **({"field": field} if field else {})) from None


def int_param(query: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer", field=name) from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}", field=name)
    return value
