"""HTTP entry point (Cloud Function ``api``): decode the request, call the API, encode."""

from __future__ import annotations

import functools
import json

import flask
import functions_framework
from werkzeug.exceptions import HTTPException

from shared.domain.errors import (
    BadRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    PipelineError,
)
from shared.entrypoints.http.api import MAX_BODY_BYTES, HttpRequest, handle
from shared.handlers.services import Services


@functools.cache
def _services() -> Services:
    # Imported on first request: the runtime pulls in the BigQuery client (~0.5 s), which
    # would otherwise count against every cold start before the function can answer.
    from shared.bootstrap.embedded import build_services

    return build_services()


@functions_framework.http
def api(request: flask.Request) -> tuple[flask.Response, int]:
    return _answer(request)


def _answer(request: flask.Request) -> tuple[flask.Response, int]:
    # Bounded read: a huge body is refused without being held in memory.
    body = request.stream.read(MAX_BODY_BYTES + 1)
    response = handle(
        _services(),
        HttpRequest(
            method=request.method,
            path=request.path,
            headers={name.lower(): value for name, value in request.headers.items()},
            query=request.args,
            body=body,
        ),
    )
    if len(body) > MAX_BODY_BYTES:
        # functions-framework reads the whole request into memory after every response
        # that is not streamed (its read_request hook): a streamed answer skips that, and
        # the server discards the unread rest.
        chunks = iter([json.dumps(response.body).encode()])
        return flask.Response(chunks, content_type="application/json"), response.status
    if response.raw is not None:  # a file download: the body and headers as the API made them
        return (
            flask.Response(
                response.raw, content_type=response.content_type, headers=dict(response.headers)
            ),
            response.status,
        )
    encoded = flask.jsonify(response.body)
    encoded.headers.update(dict(response.headers))
    return encoded, response.status


def framework_error(exc: HTTPException) -> tuple[flask.Response, int]:
    """Errors Flask answers before ``api`` runs get the API's one JSON error shape.

    functions-framework routes ``/<path:path>``, which cannot match a path holding a
    newline (``%0A``) or starting with ``//``: Flask's own 404 page would be HTML, so such
    a request goes to the API after all, which refuses it like any other bad path.
    """
    status = exc.code or 500
    request = flask.request
    error: PipelineError
    if status == 404:
        return _answer(request)
    if status == 405:
        error = MethodNotAllowed(f"{request.method} is not allowed on {request.path!r}")
    elif status == 413:
        error = PayloadTooLarge(f"body is larger than {MAX_BODY_BYTES} bytes")
    elif status < 500:
        error = BadRequest(exc.description or "bad request")
    else:
        error = PipelineError("internal error; the request was not applied")
    return flask.jsonify(error.to_dict()), error.http_status


# Registered on the app functions-framework builds while it loads this module (outside
# it, ``errorhandler`` is a no-op stand-in).
functions_framework.errorhandler(HTTPException)(framework_error)
