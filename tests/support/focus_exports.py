"""FOCUS rows written as a provider's FOCUS export of an earlier FOCUS version.

The column set of each version is the FOCUS specification's (1.0's columns; 1.1 and 1.2
each added the columns listed in shared.domain.focus.FOCUS_ADDED_IN), the values
those of the given rows, and, as AWS's FOCUS tables do, a few provider ``x_`` columns the
reader must pass over. CSV writes numbers as text and JSON columns as JSON text; Parquet
keeps numbers as decimals and timestamps typed.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from shared.domain.cloud_billing import FOCUS_EXPORT_COLUMNS
from shared.domain.focus import FOCUS_ADDED_IN

_JSON = {c.name for c in FOCUS_EXPORT_COLUMNS if c.type == "JSON"}
# AWS's own columns in its FOCUS tables (Data Exports FOCUS_1_2_AWS).
AWS_EXTRA = ("x_Discounts", "x_Operation", "x_ServiceCode", "x_UsageType")


def version_columns(version: str) -> list[str]:
    """The FOCUS columns an export of ``version`` has."""
    later = {c for v, added in FOCUS_ADDED_IN.items() if v > version for c in added}
    return [c.name for c in FOCUS_EXPORT_COLUMNS if c.name not in later]


def write_focus_export(
    path: Path, rows: Sequence[Mapping[str, Any]], version: str, extra: Sequence[str] = AWS_EXTRA
) -> list[str]:
    """Write ``rows`` as a FOCUS ``version`` export (.parquet, .csv or .csv.gz); returns
    the header written."""
    header = [*version_columns(version), *extra]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".parquet"):
        data = {name: [_parquet(name, row.get(name)) for row in rows] for name in header}
        pq.write_table(pa.table(data), path)
        return header
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_text(row.get(name)) for name in header])
    return header


def _parquet(name: str, value: Any) -> Any:
    if value is not None and name in _JSON:
        return json.dumps(value)
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
