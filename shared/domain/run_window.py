"""The date window of a run request: ``date`` or ``start_date``/``end_date``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from shared.domain.errors import BadRequest

MAX_RUN_DAYS = 92  # longer ranges go through backfill, one run per day


def parse_run_window(body: Mapping[str, Any], today: date) -> tuple[date, date]:
    """Defaults to yesterday (the last complete UTC day)."""
    single = body.get("date")
    start, end = body.get("start_date"), body.get("end_date")
    if single is not None and (start is not None or end is not None):
        raise BadRequest("give either date or start_date/end_date, not both", field="date")
    if single is not None:
        day = parse_date(single, "date")
        return day, day
    if start is None and end is None:
        yesterday = today - timedelta(days=1)
        return yesterday, yesterday
    if start is None or end is None:
        missing = "start_date" if start is None else "end_date"
        raise BadRequest(f"{missing} is required with the other", field=missing)
    start_day, end_day = parse_date(start, "start_date"), parse_date(end, "end_date")
    if start_day > end_day:
        raise BadRequest("start_date is after end_date", field="start_date")
    if (end_day - start_day).days + 1 > MAX_RUN_DAYS:
        raise BadRequest(
            f"a run covers at most {MAX_RUN_DAYS} days; use a backfill for longer ranges",
            field="end_date",
        )
    return start_day, end_day


def parse_date(value: Any, field: str) -> date:
    """A YYYY-MM-DD string as a date; BadRequest naming ``field`` otherwise."""
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a YYYY-MM-DD string", field=field)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            f"{field} is not a valid YYYY-MM-DD date: {value!r}", field=field
        ) from None
