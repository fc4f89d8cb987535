"""Clocks: the real one, and a hand-driven one so tests can cross days and leases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """Stands still until told to move; safe to share between threads."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = _aware_utc(start or datetime(2026, 1, 15, 12, 0, tzinfo=UTC))

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, at: datetime) -> None:
        with self._lock:
            self._now = _aware_utc(at)

    def advance(self, seconds: float) -> datetime:
        """Move forward (or back, if negative) and return the new now."""
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now


def _aware_utc(value: datetime) -> datetime:
    # A naive datetime would silently mean "local time" somewhere else; refuse it.
    if value.utcoffset() is None:
        raise ValueError("clock times must be timezone-aware")
    return value.astimezone(UTC)
