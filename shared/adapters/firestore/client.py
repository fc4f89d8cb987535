"""A Firestore client whose calls give up on a dead endpoint within a bounded time.

The generated client retries UNAVAILABLE for up to 300 s per call (a document read,
a query, a commit), and the per-call ``timeout`` the adapters could pass bounds one try,
not the retries. A request or a step would hang five minutes before failing. Every
method's default retry is therefore given a shorter deadline here, once, instead of
passing ``retry=`` at each of the adapters' call sites. The retry predicates (which
errors are retried) stay the library's own.
"""

from __future__ import annotations

from typing import Any

from google.cloud import firestore

DEFAULT_DEADLINE_S = 60.0


def bound_deadlines(client: firestore.Client, deadline_seconds: float) -> firestore.Client:
    """Cap every RPC's default retry deadline and timeout at ``deadline_seconds``."""
    if deadline_seconds <= 0:
        raise ValueError("deadline_seconds must be positive")
    # The GAPIC layer is built on first use; building it now lets its defaults be set.
    # Its wrapped methods are api_core _GapicCallable objects: the defaults they apply
    # when a caller passes none are their ``_retry`` and ``_timeout`` (private, so this
    # is pinned by tests/reliability/test_dependencies_down.py).
    api: Any = client._firestore_api
    for wrapped in api._transport._wrapped_methods.values():
        retry = getattr(wrapped, "_retry", None)
        if retry is not None:
            wrapped._retry = retry.with_deadline(deadline_seconds)
        timeout = getattr(wrapped, "_timeout", None)
        if not isinstance(timeout, (int, float)) or timeout > deadline_seconds:
            wrapped._timeout = deadline_seconds
    return client
