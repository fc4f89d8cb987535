"""HTTP entry point (Cloud Function ``api``): the request goes to the API's Flask app
(shared/entrypoints/http/app.py), which routes it, checks keys and answers errors."""

from __future__ import annotations

import flask
import functions_framework
from werkzeug.exceptions import HTTPException

from shared.bootstrap.lazy import services_on_first_use
from shared.entrypoints.http.app import create_app, serve

# Built on the first request: the runtime pulls in the BigQuery client (~0.5 s), which
# would otherwise count against every cold start before the function can answer.
_services = services_on_first_use()

# Looked up at each request (not bound once), so a test can swap in its own services.
_APP = create_app(lambda: _services())


@functions_framework.http
def api(request: flask.Request) -> flask.Response:
    return serve(_APP, request)


def framework_error(exc: HTTPException) -> flask.Response:
    """functions-framework routes ``/<path:path>``, which cannot match a path holding a
    newline (``%0A``) or starting with ``//``, and 404s robots.txt and favicon.ico: such
    a request goes to the API after all, which answers it in its one error shape."""
    request: flask.Request = flask.request._get_current_object()  # type: ignore[attr-defined]
    return serve(_APP, request)  # the request itself, not the context-local proxy


# Registered on the app functions-framework builds while it loads this module (outside
# it, ``errorhandler`` is a no-op stand-in).
functions_framework.errorhandler(HTTPException)(framework_error)
