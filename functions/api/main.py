"""HTTP entry point (Cloud Function ``api``): decode the request, call the API, encode."""

from __future__ import annotations

import functools

import flask
import functions_framework

from shared.api import MAX_BODY_BYTES, HttpRequest, handle
from shared.handlers.services import Services


@functools.cache
def _services() -> Services:
    # Imported on first request: the runtime pulls in the BigQuery client (~0.5 s), which
    # would otherwise count against every cold start before the function can answer.
    from shared.runtime import build_services

    return build_services()


@functions_framework.http
def api(request: flask.Request) -> tuple[flask.Response, int]:
    response = handle(
        _services(),
        HttpRequest(
            method=request.method,
            path=request.path,
            headers={name.lower(): value for name, value in request.headers.items()},
            query=request.args,
            # Bounded read: a huge body is refused without being held in memory.
            body=request.stream.read(MAX_BODY_BYTES + 1),
        ),
    )
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
