"""Recognising an outage of a backing service in whatever a client library raised.

Adapters translate what they can (the warehouse raises DependencyUnavailable itself);
the state stores' clients (SQLite, Firestore, Pub/Sub) raise their own errors from many
call sites. The HTTP layer and the step runner ask :func:`as_unavailable` so such an
error becomes a 503 / a retryable step failure with a short message, instead of an
"internal error" or a stack trace.

Client libraries are looked up in ``sys.modules`` rather than imported: an exception can
only come from a library that is loaded, and a function's cold start pays for nothing.
"""

from __future__ import annotations

import sqlite3
import sys

from shared.domain.errors import DependencyUnavailable

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
