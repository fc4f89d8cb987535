"""Accounting for every source row a load reads: inside the run's window (written),
outside it (counted, by day), or refused (no usage date to place it by).

Pure: the load counts each row as it streams past, then compares what it wrote with
``in_window`` so a row lost between the file and the raw table fails the step.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

_DAYS_SHOWN = 10


@dataclass(slots=True)
class RowTally:
    start: date
    end: date
    in_window: int = 0
    outside: Counter[date] = field(default_factory=Counter)
    undated: int = 0
    first_undated: tuple[str, int] | None = None  # (file, data row) of the first one

    def count(self, day: date | None, file: str, row: int, rows: int = 1) -> None:
        """``rows`` rows of usage ``day`` (None: undated), the first at ``row`` of ``file``."""
        if day is None:
            self.undated += rows
            if self.first_undated is None:
                self.first_undated = (file, row)
        elif self.start <= day <= self.end:
            self.in_window += rows
        else:
            self.outside[day] += rows

    @property
    def read(self) -> int:
        return self.in_window + sum(self.outside.values()) + self.undated

    def outside_summary(self) -> str:
        """'12 rows outside the window 2026-10-01..2026-10-03 (2026-09-30: 10, ...)'."""
        days = sorted(self.outside)
        shown = ", ".join(f"{d}: {self.outside[d]}" for d in days[:_DAYS_SHOWN])
        more = f", and {len(days) - _DAYS_SHOWN} more days" if len(days) > _DAYS_SHOWN else ""
        total = sum(self.outside.values())
        return (
            f"{total} rows outside the window {self.start}..{self.end} ({shown}{more})"
            if total
            else ""
        )

    def all_outside_warning(self) -> str:
        """The warning of a load whose rows all fall outside the window."""
        return f"every row read is outside the run's window: {self.outside_summary()}"

    def metrics(self) -> dict[str, object]:
        return {
            "rows_read": self.read,
            "rows_in_window": self.in_window,
            "rows_outside_window": sum(self.outside.values()),
            "days_outside_window": {d.isoformat(): n for d, n in sorted(self.outside.items())},
        }
