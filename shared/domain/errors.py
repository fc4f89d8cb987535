"""Every error a user can cause, with the HTTP status it maps to, and whether it passes.

Handlers raise these; the HTTP layer turns them into
``{"error": {"code", "message", "details"}}`` with ``http_status``. Each class is marked
:class:`Transient` (trying again later can succeed: an outage, a quota window) or
:class:`Terminal` (the same request fails the same way again); what that means for a step
retry or a Pub/Sub redelivery is decided in one place, shared/adapters/outages.py.
"""

from __future__ import annotations

from typing import Any


def shown(value: object, limit: int = 80, *, quote: bool = True) -> str:
    """``repr(value)`` (``str`` with ``quote=False``) cut to ``limit`` characters, for
    echoing user input in a message: a 5,000-character name in a URL must not come back
    whole in the error."""
    text = repr(value) if quote else str(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


class Transient(Exception):  # a marker, mixed into errors, never raised alone
    """Marker: the failure may pass by itself; a retry or a redelivery can succeed."""


class Terminal(Exception):  # a marker, mixed into errors, never raised alone
    """Marker: the same input fails the same way again; retrying cannot help."""


class PipelineError(Exception):
    """Base class: a clear, user-facing failure. Never carries secrets."""

    http_status = 500
    code = "internal"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(PipelineError, Terminal):
    http_status = 400
    code = "bad_request"


class ConfigError(BadRequest):
    """A pipeline config (or registry file) is invalid: says which file and field."""

    code = "invalid_config"

    def __init__(self, file: str, field: str, message: str) -> None:
        location = f"{file}: {field}" if field else file
        super().__init__(f"{location}: {message}", file=file, field=field)
        self.file = file
        self.field = field
        self.reason = message


class PayloadTooLarge(BadRequest):
    http_status = 413
    code = "payload_too_large"


class TemplateError(BadRequest):
    code = "invalid_template"


class Unauthorized(PipelineError, Terminal):
    http_status = 401
    code = "unauthorized"


class Forbidden(PipelineError, Terminal):
    http_status = 403
    code = "forbidden"


class NotFound(PipelineError, Terminal):
    http_status = 404
    code = "not_found"


class MethodNotAllowed(PipelineError, Terminal):
    http_status = 405
    code = "method_not_allowed"


class Conflict(PipelineError, Terminal):
    http_status = 409
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class QuotaExceeded(PipelineError, Transient):
    http_status = 429
    code = "quota_exceeded"


class DependencyUnavailable(PipelineError, Transient):
    http_status = 503
    code = "dependency_unavailable"


class SecretBoxError(PipelineError):
    """A key or ciphertext problem (any secret box). Never includes plaintext or keys."""

    code = "secret_box_error"


class StepFailure(Exception):
    """Raised by a processor. ``retryable`` tells the coordinator whether to try again."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
