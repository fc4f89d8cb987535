"""Reading AWS CUR 2.0 files (Parquet, or gzip/plain CSV) in batches with pyarrow.

Never a whole month in Python: Parquet is read ``batch_size`` rows at a time
(``ParquetFile.iter_batches``), CSV through pyarrow's streaming reader, and each batch
becomes a list of row dicts holding only the columns the conversion uses
(shared.domain.cloud_billing.AWS_CUR_COLUMNS; a column missing from the file is null).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from shared.domain.cloud_billing import AWS_CUR_COLUMNS, AWS_CUR_MAP_COLUMNS
from shared.domain.errors import BadRequest

SUFFIXES = (".parquet", ".csv.gz", ".csv")
_NAMES = [c.name for c in AWS_CUR_COLUMNS]
_TYPES = {c.name: c.type for c in AWS_CUR_COLUMNS}


def cur_files(uri: str) -> list[Path]:
    """The CUR files a URI names: a file, or every CUR file under a directory (sorted)."""
    if uri.startswith(("s3://", "gs://")):
        raise BadRequest(
            f"{uri}: only local paths are supported so far (s3:// and gs:// are not done)",
            field="uri",
        )
    path = Path(uri.removeprefix("file://"))
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))
    else:
        raise BadRequest(f"{uri}: no such file or directory", field="uri")
    if not files or not all(f.name.endswith(SUFFIXES) for f in files):
        raise BadRequest(f"{uri}: no CUR files ({', '.join(SUFFIXES)})", field="uri")
    return files


def read_cur_batches(path: Path, batch_size: int = 50_000) -> Iterator[list[dict[str, Any]]]:
    if path.name.endswith(".parquet"):
        parquet = pq.ParquetFile(path)
        present = [n for n in _NAMES if n in parquet.schema_arrow.names]
        for batch in parquet.iter_batches(batch_size=batch_size, columns=present):
            yield _rows(path, batch)
        return
    options = pacsv.ReadOptions(block_size=8 << 20)
    # Every column as text: CUR CSV types are ours to apply, not pyarrow's guesses.
    with pacsv.open_csv(
        path,
        read_options=options,
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(_NAMES, pa.string()),
            strings_can_be_null=True,
            include_columns=_NAMES,  # parse only what the conversion uses
            include_missing_columns=True,  # a column the file lacks is null
        ),
    ) as reader:
        pending: list[dict[str, Any]] = []
        for batch in reader:
            pending += _rows(path, batch)
            while len(pending) >= batch_size:
                yield pending[:batch_size]
                pending = pending[batch_size:]
        if pending:
            yield pending


def _rows(path: Path, batch: pa.RecordBatch) -> list[dict[str, Any]]:
    columns = {name: batch.column(name).to_pylist() for name in batch.schema.names}
    rows = []
    for i in range(batch.num_rows):
        row: dict[str, Any] = {}
        for name in _NAMES:
            values = columns.get(name)
            if values is not None:
                row[name] = _value(path, i, name, values[i])
        rows.append(row)
    return rows


def _value(path: Path, index: int, name: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    kind = _TYPES[name]
    try:
        if kind == "FLOAT":
            return float(value)
        if kind == "TIMESTAMP":
            if isinstance(value, datetime):
                return value.isoformat()
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).isoformat()
        if name in AWS_CUR_MAP_COLUMNS:
            return _mapping(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest(
            f"{path.name}: row {index}: {name}: {exc}", file=path.name, row=index, field=name
        ) from exc
    return str(value)


def _mapping(value: Any) -> dict[str, Any]:
    # Parquet maps arrive as [(key, value), ...]; CSV carries them as JSON text.
    if isinstance(value, list):
        return {str(k): v for k, v in value}
    if isinstance(value, dict):
        return value
    parsed = json.loads(value)
    if not isinstance(parsed, dict):
        raise ValueError("a map column must hold a JSON object")
    return parsed
