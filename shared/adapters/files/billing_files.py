"""Reading provider billing files (Parquet, or gzip/plain CSV) in batches with pyarrow.

Never a whole month in Python: Parquet is read ``batch_size`` rows at a time
(``ParquetFile.iter_batches``), CSV through pyarrow's streaming reader, and each batch
becomes a list of row dicts holding only the columns of the provider's
:class:`FileSpec`. The file's header decides its layout first (:func:`plan_file`, the
variants of shared/domain/billing_schemas.py): a header with none of the layouts'
required columns is refused, naming them, instead of being read as rows of nulls. A spec
can accept other names for a column (Azure EA vs MCA exports); the spec's own name wins
when a file has both. A bad value is reported by file, line (CSV) or row (Parquet) and
column.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from shared.domain.billing_schemas import (
    ColumnPlan,
    SchemaVariant,
    Target,
    UnknownSchema,
    plan_columns,
)
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
    provider: str = "provider"
    required: tuple[str, ...] = ()  # our columns every file must provide
    # The documented layouts; none: one layout, our names plus ``aliases``/``prefixed_map``.
    variants: tuple[SchemaVariant, ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def layouts(self) -> tuple[SchemaVariant, ...]:
        if self.variants:
            return self.variants
        return (SchemaVariant(f"{self.provider} export", self._as_named, self.required),)

    def _as_named(self, column: str) -> Target | None:
        if column in self.names:
            return (column, None)
        if column in self.aliases:
            return (self.aliases[column], None)
        if self.prefixed_map is not None and column.startswith(self.prefixed_map[0]):
            return (self.prefixed_map[1], column.removeprefix(self.prefixed_map[0]))
        return None


def billing_files(uri: str, suffixes: tuple[str, ...] = SUFFIXES) -> list[Path]:
    """The billing files a local path names: a file, or every billing file under a directory.

    Buckets (gs://, s3://) are listed by shared.adapters.files.billing_sources, which calls this for
    local paths.
    """
    path = Path(uri.removeprefix("file://"))
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(suffixes))
    else:
        raise BadRequest(f"{uri}: no such file or directory", field="uri")
    if not files or not all(f.name.endswith(suffixes) for f in files):
        raise BadRequest(f"{uri}: no billing files ({', '.join(suffixes)})", field="uri")
    return files


def plan_file(path: Path, spec: FileSpec) -> ColumnPlan:
    """The layout of ``path`` from its header, or BadRequest saying what the header lacks."""
    if path.name.endswith(".parquet"):
        header = pq.ParquetFile(path).schema_arrow.names
    else:
        header = _csv_header(path)
    try:
        return plan_columns(header, spec.layouts(), provider=spec.provider)
    except UnknownSchema as exc:
        raise BadRequest(str(exc)) from None  # the caller names the file by its URI


def read_batches(
    path: Path, spec: FileSpec, batch_size: int = 50_000, plan: ColumnPlan | None = None
) -> Iterator[list[dict[str, Any]]]:
    plan = plan or plan_file(path, spec)
    wanted = plan.file_columns
    done = 0  # rows read so far: a bad value's position in the file
    if path.name.endswith(".parquet"):
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=batch_size, columns=wanted):
            yield _rows(path, spec, plan, batch, done)
            done += batch.num_rows
        return
    # Every column as text: the file's types are ours to apply, not pyarrow's guesses.
    with pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=8 << 20),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(wanted, pa.string()),
            strings_can_be_null=True,
            include_columns=wanted,  # parse only what the conversion uses
        ),
    ) as reader:
        pending: list[dict[str, Any]] = []
        for batch in reader:
            pending += _rows(path, spec, plan, batch, done)
            done += batch.num_rows
            while len(pending) >= batch_size:
                yield pending[:batch_size]
                pending = pending[batch_size:]
        if pending:
            yield pending


def _csv_header(path: Path) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", newline="") as handle:
        return next(csv.reader(handle), [])


def _rows(
    path: Path, spec: FileSpec, plan: ColumnPlan, batch: pa.RecordBatch, first: int
) -> list[dict[str, Any]]:
    columns = {name: batch.column(name).to_pylist() for name in batch.schema.names}
    types = {c.name: c.type for c in spec.columns}
    # our column -> (file column, its values) for each file column that holds it
    sources: dict[str, list[tuple[str, list[Any]]]] = {}
    keyed: dict[str, list[tuple[str, list[Any]]]] = {}  # map column -> (key, values)
    # Our own name first, then the other names, so ours wins when a file has both.
    for file_column, (ours, key) in sorted(plan.targets.items(), key=lambda t: _other_name(*t)):
        if key is None:
            sources.setdefault(ours, []).append((file_column, columns[file_column]))
        else:
            keyed.setdefault(ours, []).append((key, columns[file_column]))
    where = _position(path, first)
    rows = []
    for i in range(batch.num_rows):
        row: dict[str, Any] = {}
        for name, candidates in sources.items():
            found = next(((c, v[i]) for c, v in candidates if v[i] not in (None, "")), None)
            if found is not None:
                row[name] = _value(where, i, found, name, types[name], spec)
        for name, pairs in keyed.items():
            entries = {key: values[i] for key, values in pairs if values[i] not in (None, "")}
            if entries:
                row[name] = {**entries, **row.get(name, {})}
        for name, value in plan.constants.items():
            row.setdefault(name, value)
        rows.append(row)
    return rows


def _other_name(file_column: str, target: Target) -> bool:
    return file_column.lower() != target[0].lower()


def _position(path: Path, first: int) -> Callable[[int], tuple[str, int]]:
    """A row's place as users find it: the CSV line (the header is line 1), else the row."""
    if path.name.endswith(".parquet"):
        return lambda i: ("row", first + i + 1)
    return lambda i: ("line", first + i + 2)


def _value(
    where: Callable[[int], tuple[str, int]],
    index: int,
    found: tuple[str, Any],
    name: str,
    kind: str,
    spec: FileSpec,
) -> Any:
    file_column, value = found
    try:
        if kind == "FLOAT":
            return float(value)
        if kind == "NUMERIC":
            return _decimal(value)
        if kind == "TIMESTAMP":
            return _timestamp(value)
        if name in spec.map_columns:
            return _mapping(value)
    except (TypeError, ValueError) as exc:
        unit, number = where(index)
        column = file_column if file_column == name else f"{file_column} (read as {name})"
        raise BadRequest(
            f"{unit} {number}: {column}: {exc}", row=number, field=file_column
        ) from exc
    return str(value)


def _decimal(value: Any) -> str:
    """A NUMERIC column's value as exact decimal text (read from the file's text, never
    through a float)."""
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return str(number)


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
    # In UTC, so the text's first ten characters are the usage day DATE() gives it.
    return moment.astimezone(UTC).isoformat()


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
