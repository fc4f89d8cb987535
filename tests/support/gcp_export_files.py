"""The sample GCP billing export rows as ``bq extract`` writes a table: newline-delimited
JSON (timestamps as text, records as objects, repeated records as arrays), Parquet and Avro
(typed: timestamps as UTC microseconds - Avro's ``timestamp-micros`` - records as structs,
repeated records as lists; every column nullable)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq

from shared.demo.gcp_sample import sample_gcp_export_rows
from shared.domain.cloud_billing import EXPORT_SCHEMAS
from shared.ports import Column


def export_rows(start: date, days: int, schema: str = "detailed") -> list[dict[str, Any]]:
    names = {c.name for c in EXPORT_SCHEMAS[schema]}
    return [
        {k: v for k, v in row.items() if k in names} for row in sample_gcp_export_rows(start, days)
    ]


def write_export_file(
    path: Path, rows: Sequence[Mapping[str, Any]], schema: str = "detailed"
) -> None:
    """``rows`` as one export file; the format follows the name (.json, .parquet, .avro)."""
    columns = EXPORT_SCHEMAS[schema]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".parquet"):
        arrow = pa.schema([pa.field(c.name, _arrow(c)) for c in columns])
        typed = [{c.name: _typed(c, row.get(c.name)) for c in columns} for row in rows]
        pq.write_table(pa.Table.from_pylist(typed, schema=arrow), path)
    elif path.name.endswith(".avro"):
        record = {"type": "record", "name": "Root", "fields": [_avro_field(c) for c in columns]}
        typed = [{c.name: _typed(c, row.get(c.name)) for c in columns} for row in rows]
        with path.open("wb") as out:
            fastavro.writer(out, fastavro.parse_schema(record), typed)
    else:
        with path.open("w") as out:
            out.writelines(json.dumps(row) + "\n" for row in rows)


def _arrow(column: Column) -> pa.DataType:
    if column.type == "RECORD":
        kind: pa.DataType = pa.struct([pa.field(f.name, _arrow(f)) for f in column.fields])
    else:
        kind = {
            "STRING": pa.string(),
            "FLOAT": pa.float64(),
            "INT64": pa.int64(),
            "BOOL": pa.bool_(),
            "TIMESTAMP": pa.timestamp("us", tz="UTC"),
        }[column.type]
    return pa.list_(kind) if column.mode == "REPEATED" else kind


def _avro_field(column: Column, parent: str = "") -> dict[str, Any]:
    name = f"{parent}{column.name}"
    kind: Any
    if column.type == "RECORD":
        kind = {
            "type": "record",
            "name": name,
            "fields": [_avro_field(f, f"{name}_") for f in column.fields],
        }
    else:
        kind = {
            "STRING": "string",
            "FLOAT": "double",
            "INT64": "long",
            "BOOL": "boolean",
            "TIMESTAMP": {"type": "long", "logicalType": "timestamp-micros"},
        }[column.type]
    if column.mode == "REPEATED":
        return {"name": column.name, "type": {"type": "array", "items": kind}, "default": []}
    return {"name": column.name, "type": ["null", kind], "default": None}


def _typed(column: Column, value: Any) -> Any:
    """A JSON-shaped value as the column's typed value."""
    if value is None:
        return [] if column.mode == "REPEATED" else None
    if column.mode == "REPEATED":
        return [_one(column, v) for v in _items(value)]
    return _one(column, value)


def _items(value: Any) -> Iterable[Any]:
    return value if isinstance(value, list) else [value]


def _one(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.type == "RECORD":
        return {f.name: _typed(f, value.get(f.name)) for f in column.fields}
    if column.type == "TIMESTAMP":
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    return value
