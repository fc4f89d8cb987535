"""Reading provider billing files (Parquet, or gzip/plain CSV) in batches with pyarrow.

Never a whole month in Python: Parquet is read ``batch_size`` rows at a time
(``ParquetFile.iter_batches``), CSV through pyarrow's streaming reader, and each batch
becomes a list of row dicts holding only the columns of the provider's
:class:`FileSpec` (a column missing from the file is null). A spec can accept other names
for a column (Azure EA vs MCA exports); the spec's own name wins when a file has both.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from shared.domain.errors import BadRequest
from shared.ports import Column

SUFFIXES = (".parquet", ".csv.gz", ".csv")
# CSV date formats seen in exports besides ISO 8601 (Azure MCA writes MM/DD/YYYY).
_DATE_FORMATS = ("%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True, slots=True)
class FileSpec:
    columns: tuple[Column, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)  # other name -> our column
    map_columns: tuple[str, ...] = ()  # JSON object columns (maps, tag lists)
    # (prefix, column): every file column named prefix + key goes into the JSON object
    # column as key -> value (OCI's one column per tag, "tags/<namespace>.<key>").
    prefixed_map: tuple[str, str] | None = None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def billing_files(uri: str) -> list[Path]:
    """The billing files a local path names: a file, or every billing file under a directory.

    Buckets (gs://, s3://) are listed by shared.cloud.billing_sources, which calls this for
    local paths.
    """
    path = Path(uri.removeprefix("file://"))
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))
    else:
        raise BadRequest(f"{uri}: no such file or directory", field="uri")
    if not files or not all(f.name.endswith(SUFFIXES) for f in files):
        raise BadRequest(f"{uri}: no billing files ({', '.join(SUFFIXES)})", field="uri")
    return files


def read_batches(
    path: Path, spec: FileSpec, batch_size: int = 50_000
) -> Iterator[list[dict[str, Any]]]:
    wanted = [*spec.names, *spec.aliases]
    if path.name.endswith(".parquet"):
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
        present = [n for n in [*wanted, *_prefixed(spec, names)] if n in names]
        for batch in parquet.iter_batches(batch_size=batch_size, columns=present):
            yield _rows(path, spec, batch)
        return
    if spec.prefixed_map is not None:
        wanted += _prefixed(spec, _csv_header(path))
    # Every column as text: the file's types are ours to apply, not pyarrow's guesses.
    with pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=8 << 20),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(wanted, pa.string()),
            strings_can_be_null=True,
            include_columns=wanted,  # parse only what the conversion uses
            include_missing_columns=True,  # a column the file lacks is null
        ),
    ) as reader:
        pending: list[dict[str, Any]] = []
        for batch in reader:
            pending += _rows(path, spec, batch)
            while len(pending) >= batch_size:
                yield pending[:batch_size]
                pending = pending[batch_size:]
        if pending:
            yield pending


def _prefixed(spec: FileSpec, names: list[str]) -> list[str]:
    if spec.prefixed_map is None:
        return []
    return [n for n in names if n.startswith(spec.prefixed_map[0])]


def _csv_header(path: Path) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", newline="") as handle:
        return next(csv.reader(handle), [])


def _rows(path: Path, spec: FileSpec, batch: pa.RecordBatch) -> list[dict[str, Any]]:
    columns = {name: batch.column(name).to_pylist() for name in batch.schema.names}
    prefixed: list[tuple[str, list[Any]]] = []
    if spec.prefixed_map is not None:
        prefix = spec.prefixed_map[0]
        prefixed = [(n[len(prefix) :], v) for n, v in columns.items() if n.startswith(prefix)]
    types = {c.name: c.type for c in spec.columns}
    sources: dict[str, list[list[Any]]] = {}
    for name in spec.names:
        sources[name] = [columns[name]] if name in columns else []
    for alias, name in spec.aliases.items():
        if alias in columns:
            sources[name].append(columns[alias])
    rows = []
    for i in range(batch.num_rows):
        row: dict[str, Any] = {}
        for name, candidates in sources.items():
            value = next((c[i] for c in candidates if c[i] not in (None, "")), None)
            if value is not None:
                row[name] = _value(path, i, name, types[name], spec, value)
        if spec.prefixed_map is not None:
            tags = {key: values[i] for key, values in prefixed if values[i] not in (None, "")}
            if tags:
                row[spec.prefixed_map[1]] = tags
        rows.append(row)
    return rows


def _value(path: Path, index: int, name: str, kind: str, spec: FileSpec, value: Any) -> Any:
    try:
        if kind == "FLOAT":
            return float(value)
        if kind == "TIMESTAMP":
            return _timestamp(value)
        if name in spec.map_columns:
            return _mapping(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest(
            f"{path.name}: row {index}: {name}: {exc}", file=path.name, row=index, field=name
        ) from exc
    return str(value)


def _timestamp(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            for fmt in _DATE_FORMATS:
                try:
                    moment = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            else:
                raise ValueError(f"not a date/time: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # billing exports are UTC
    return moment.isoformat()


def _mapping(value: Any) -> dict[str, Any]:
    # Parquet maps arrive as [(key, value), ...]; CSV carries them as JSON text - Azure EA
    # exports write tags without the outer braces ("k": "v","k2": "v2").
    if isinstance(value, list):
        return {str(k): v for k, v in value}
    if isinstance(value, dict):
        return value
    text = str(value).strip()
    if text and not text.startswith("{"):
        text = "{" + text + "}"
    parsed = json.loads(text) if text else {}
    if not isinstance(parsed, dict):
        raise ValueError("a map column must hold a JSON object")
    return parsed
