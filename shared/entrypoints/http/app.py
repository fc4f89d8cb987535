"""The Flask app holding the API Blueprint, and how the ``api`` function hands it a
request.

functions-framework routes every path to the ``api`` function; ``serve`` dispatches that
request (its WSGI environ) into this app, which routes it (404/405), checks the keys,
runs the view and answers every error in the one shape
``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import flask
from flask.ctx import RequestContext
from werkzeug.exceptions import HTTPException

from shared.adapters.outages import as_unavailable
from shared.domain.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PipelineError,
    shown,
)
from shared.entrypoints.http import routes
from shared.entrypoints.http.bodies import MAX_BODY_BYTES
from shared.handlers.services import Services

log = logging.getLogger(__name__)


def create_app(services: Callable[[], Services]) -> flask.Flask:
    """The API over ``services`` (called once per request; the caller caches)."""
    app = flask.Flask(__name__, static_folder=None)  # no /static/ route: API paths only
    app.extensions["pipelines.services"] = services
    # Set before the rules are added (a rule reads them when bound): no redirect to a
    # trailing slash, and "//" in a path is an empty segment matching no route (404),
    # not a redirect.
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False
    app.register_blueprint(routes.api)
    app.before_request(_read_body)
    app.after_request(_stream_if_oversized)
    app.register_error_handler(PipelineError, _error)
    app.register_error_handler(HTTPException, _framework_error)
    app.register_error_handler(Exception, _unexpected)
    return app


def serve(app: flask.Flask, request: flask.Request) -> flask.Response:
    """Answer functions-framework's ``request`` with ``app``: a request of ``app`` over the
    same environ, reading the same body stream (functions-framework drains what is left
    of it after an answer that is not streamed)."""
    inner = app.request_class(request.environ)
    inner.stream = request.stream  # werkzeug's cached_property takes an assignment
    inner.json_module = app.json
    with RequestContext(app, request.environ, request=inner):
        return app.full_dispatch_request()


def _read_body() -> None:
    # Bounded read: a huge body is refused (bodies.json_object) without being held in
    # memory; werkzeug reads in chunks, so at most one chunk past the limit is read.
    flask.g.body = flask.request.stream.read(MAX_BODY_BYTES + 1)


def _stream_if_oversized(response: flask.Response) -> flask.Response:
    if len(flask.g.get("body", b"")) > MAX_BODY_BYTES and not response.is_streamed:
        # functions-framework reads the whole request into memory after every response
        # that is not streamed (its read_request hook): a streamed answer skips that, and
        # the server discards the unread rest.
        response.response = iter([response.get_data()])
        response.headers.pop("Content-Length", None)
    return response


def _error(exc: PipelineError) -> tuple[flask.Response, int]:
    """Every refusal a handler raises, in the one shape, with its status."""
    return flask.jsonify(exc.to_dict()), exc.http_status


def _framework_error(exc: HTTPException) -> tuple[flask.Response, int]:
    """Routing and protocol errors Flask raises, in the API's shape."""
    request = flask.request
    status = exc.code or 500
    if status == 404:
        return _error(NotFound(f"no route for {request.method} {shown(request.path, quote=False)}"))
    if status == 405:
        path = shown(request.path, quote=False)
        return _error(MethodNotAllowed(f"{request.method} is not allowed on {path}"))
    if status == 413:
        return _error(PayloadTooLarge(f"body is larger than {MAX_BODY_BYTES} bytes"))
    if status < 500:
        return _error(BadRequest(exc.description or "bad request"))
    return _unexpected(exc)


def _unexpected(exc: Exception) -> tuple[flask.Response, int]:
    request = flask.request
    if (outage := as_unavailable(exc)) is not None:  # a dead store or client: 503
        log.warning("%s %s: %s", request.method, request.path, outage.message)
        return _error(outage)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _error(PipelineError("internal error; the request was not applied"))
