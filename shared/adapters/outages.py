"""What is retryable, decided once; and recognising an outage in a client library's error.

:func:`classify` is the one rule: a step attempt is retried, and a Pub/Sub message
redelivered, exactly when it says ``retryable``. The domain's errors carry their answer
as a marker class (shared/domain/errors.py: Transient / Terminal); a processor's
StepFailure carries its own flag.

Adapters translate what they can (the warehouse raises DependencyUnavailable itself);
the state stores' clients (SQLite, Firestore, Pub/Sub) raise their own errors from many
call sites. :func:`as_unavailable` recognises those, so such an error becomes a 503 / a
retryable failure with a short message, instead of an "internal error" or a stack trace.

Client libraries are looked up in ``sys.modules`` rather than imported: an exception can
only come from a library that is loaded, and a function's cold start pays for nothing.
"""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import dataclass

from shared.domain.errors import (
    DependencyUnavailable,
    PipelineError,
    StepFailure,
    Terminal,
    Transient,
)

# SQLite primary result codes meaning "the file cannot be used now", not "bad SQL".
_SQLITE_OUTAGE_CODES = {
    5: "database is locked",  # SQLITE_BUSY: another writer held the lock past busy_timeout
    6: "table is locked",  # SQLITE_LOCKED
    8: "database is read-only",  # SQLITE_READONLY
    10: "disk I/O error",  # SQLITE_IOERR
    13: "disk is full",  # SQLITE_FULL
    14: "cannot open the database file",  # SQLITE_CANTOPEN
}
_MAX_DETAIL_CHARS = 200


@dataclass(frozen=True, slots=True)
class Failure:
    """What a user is told about a failure, and whether trying again could help."""

    message: str
    retryable: bool


def classify(exc: BaseException) -> Failure:
    """The one answer to "should this be tried again?" (step retries, redeliveries)."""
    if isinstance(exc, StepFailure):
        return Failure(str(exc), exc.retryable)
    if isinstance(exc, PipelineError):
        # Ours, marked Transient or Terminal; an unmarked one says what is wrong with the
        # config or data, which the same input repeats.
        return Failure(exc.message, isinstance(exc, Transient) and not isinstance(exc, Terminal))
    if isinstance(exc, TimeoutError):
        return Failure(str(exc), True)
    if (outage := as_unavailable(exc)) is not None:  # a client library's own error
        return Failure(outage.message, True)
    # Unexpected (a bug, an unknown library error): retries are bounded, and a transient
    # cause deserves them.
    return Failure(f"{type(exc).__name__}: {exc}", True)


def as_unavailable(exc: BaseException) -> DependencyUnavailable | None:
    """The DependencyUnavailable ``exc`` amounts to, or None when it is not an outage.

    The exception's causes count too: a Firestore transaction whose begin call failed
    on a dead endpoint raises a ValueError (cannot roll back) from the RetryError."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 8:
        seen.add(id(current))
        if (outage := _outage(current)) is not None:
            return outage
        current = current.__cause__ or current.__context__
    return None


def _outage(exc: BaseException) -> DependencyUnavailable | None:
    if isinstance(exc, DependencyUnavailable):
        return exc
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        reason = _SQLITE_OUTAGE_CODES.get(code & 0xFF) if isinstance(code, int) else None
        if reason is None:
            return None  # a SQL or schema error is a bug, not an outage
        return DependencyUnavailable(
            f"the state store is unavailable ({reason}); try again shortly", dependency="state"
        )
    gexc = sys.modules.get("google.api_core.exceptions")
    if gexc is not None and isinstance(
        exc,
        (gexc.RetryError, gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.TooManyRequests),
    ):
        return DependencyUnavailable(
            f"a Google Cloud service did not answer ({_summary(exc)}); try again shortly",
            dependency="google-cloud",
        )
    httpx = sys.modules.get("httpx")
    if httpx is not None and isinstance(exc, httpx.TransportError):
        return DependencyUnavailable(
            f"a remote service is unreachable ({_summary(exc)})", dependency="http"
        )
    if isinstance(exc, (ConnectionError, TimeoutError)):
        # TimeoutError includes a Pub/Sub publish that got no answer in time.
        return DependencyUnavailable(
            f"a backing service is unreachable ({_summary(exc)}); try again shortly",
            dependency="network",
        )
    return None


def _summary(exc: BaseException) -> str:
    """The exception's type and the first line of its text, bounded (no traceback)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(text) > _MAX_DETAIL_CHARS:
        text = text[:_MAX_DETAIL_CHARS] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
