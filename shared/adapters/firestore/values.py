"""How the Firestore stores hold values: timestamps, history ordering, record format."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from typing import Any

from google.cloud import firestore

from shared.adapters.records import RecordFormat, utc

Doc = dict[str, Any]

_sequence = itertools.count()  # tie-break for history entries with equal times


def plain_utc(value: datetime) -> datetime:
    """A plain tz-aware UTC datetime (the client returns a nanosecond subclass)."""
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=UTC,
    )


def plain_utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else plain_utc(value)


def next_seq() -> int:
    """Increasing within a process: microseconds x 1000 + a counter (fits int64)."""
    return time.time_ns() // 1000 * 1000 + next(_sequence) % 1000


def stamp(at: datetime) -> Doc:
    """Ordering fields of a history entry: its time, the commit time, a local sequence."""
    return {"at": utc(at), "recorded_at": firestore.SERVER_TIMESTAMP, "seq": next_seq()}


# Native timestamps and maps.
FIRESTORE_RECORDS = RecordFormat(
    time_in=plain_utc, time_out=utc, nested_in=lambda value: value, nested_out=dict
)
