"""An org's FOCUS rows as the file FinOps tools read: CSV or Parquet, spec column order.

What a BigQuery CSV/JSON export writes is not what FOCUS readers accept: timestamps come
out as ``2026-12-01 00:00:00 UTC`` and JSON columns as nested objects. Here every timestamp
is ISO 8601 UTC with a ``Z``, JSON columns (Tags, SkuPriceDetails, ...) are JSON text,
decimals are written in plain notation, and the columns come in the order of the FOCUS 1.3
spec followed by our ``x_`` columns. Rows are read one ``x_pipeline_run_date`` at a time,
so memory holds one day of the org's rows, not the table.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from shared.domain.errors import BadRequest, NotFound
from shared.domain.focus import COST_TABLE, COST_TABLE_COLUMNS
from shared.domain.sql import table_ref, validate_org_slug
from shared.handlers.focus_check import focus_scope
from shared.ports import Column, Warehouse

EXPORT_FORMATS = ("csv", "parquet")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}

_ARROW_TYPES: dict[str, pa.DataType] = {
    "STRING": pa.string(),
    "JSON": pa.string(),  # FOCUS JSON columns are JSON-encoded strings in files
    "NUMERIC": pa.decimal128(38, 9),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "DATE": pa.date32(),
}


def export_focus(
    warehouse: Warehouse,
    dataset: str,
    org_slug: str,
    out: IO[bytes],
    fmt: str,
    *,
    start: date | None = None,
    end: date | None = None,
    source_system: str | None = None,
) -> int:
    """Write the org's FOCUS rows in scope to ``out``; returns the rows written."""
    if fmt not in EXPORT_FORMATS:
        raise BadRequest(
            f"format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}", field="format"
        )
    columns = COST_TABLE_COLUMNS
    days = _days(warehouse, dataset, org_slug, start, end, source_system)
    batches = (_day_rows(warehouse, dataset, org_slug, day, source_system, columns) for day in days)
    if fmt == "csv":
        return _write_csv(out, columns, batches)
    return _write_parquet(out, columns, batches)


def _days(
    warehouse: Warehouse,
    dataset: str,
    org_slug: str,
    start: date | None,
    end: date | None,
    source_system: str | None,
) -> list[date]:
    target = table_ref(warehouse.project_id, dataset, COST_TABLE)
    where, params = focus_scope(validate_org_slug(org_slug), start, end, source_system)
    try:
        rows = warehouse.query(
            f"SELECT DISTINCT x_pipeline_run_date AS day FROM {target} WHERE {where} ORDER BY day",
            params,
        )
    except NotFound:  # no pipeline has written FOCUS rows for the org yet: an empty file
        return []
    return [row["day"] for row in rows]


def _day_rows(
    warehouse: Warehouse,
    dataset: str,
    org_slug: str,
    day: date,
    source_system: str | None,
    columns: Sequence[Column],
) -> list[dict[str, Any]]:
    target = table_ref(warehouse.project_id, dataset, COST_TABLE)
    where, params = focus_scope(org_slug, day, day, source_system)
    listing = ", ".join(c.name for c in columns)
    # A stable order inside the day, so two exports of the same rows are the same file.
    return warehouse.query(
        f"SELECT {listing} FROM {target} WHERE {where}"
        " ORDER BY x_source_system, ChargePeriodStart, ServiceName, ResourceId, SkuId, BilledCost",
        params,
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: what FOCUS readers parse as a datetime."""
    utc = value.astimezone(UTC) if value.tzinfo else value
    text = utc.replace(tzinfo=None).isoformat(
        timespec="microseconds" if utc.microsecond else "seconds"
    )
    return text + "Z"


def _write_csv(
    out: IO[bytes], columns: Sequence[Column], batches: Iterator[list[dict[str, Any]]]
) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\n")
    names = [c.name for c in columns]
    writer.writerow(names)
    written = 0
    for rows in batches:
        writer.writerows([_text(row[name]) for name in names] for row in rows)
        written += len(rows)
    text.flush()
    text.detach()  # leave ``out`` open for the caller
    return written


def _write_parquet(
    out: IO[bytes], columns: Sequence[Column], batches: Iterator[list[dict[str, Any]]]
) -> int:
    schema = pa.schema([pa.field(c.name, _ARROW_TYPES[c.type]) for c in columns])
    written = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for rows in batches:
            writer.write_table(pa.Table.from_pylist([_arrow_row(r, columns) for r in rows], schema))
            written += len(rows)
        if not written:  # an empty file still carries the schema
            writer.write_table(schema.empty_table())
    return written


def _arrow_row(row: Mapping[str, Any], columns: Sequence[Column]) -> dict[str, Any]:
    # JSON values arrive parsed; the file carries them as JSON text.
    return {
        c.name: _text(row[c.name]) if c.type == "JSON" and row[c.name] is not None else row[c.name]
        for c in columns
    }
