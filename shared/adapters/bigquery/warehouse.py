"""The Warehouse port over the official BigQuery client.

The same class runs against BigQuery in production and bqemulator locally, so it uses
only what both support: load jobs with NDJSON (never streaming inserts, which block DML
for ~30 minutes on BigQuery), single statements with named parameters, and scripts whose
values are already literals (the emulator rejects parameters inside scripts and CALL).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from google.api_core import exceptions as gexc
from google.cloud import bigquery
from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY, DEFAULT_RETRY, _job_should_retry

from shared.adapters.bigquery.sql_files import PROCEDURES_DIR, render_sql
from shared.domain.errors import BadRequest, DependencyUnavailable, NotFound
from shared.domain.focus import LINEAGE_COLUMN_NAMES
from shared.domain.sql import table_ref, validate_identifier, validate_project_id
from shared.domain.table_layout import layout_for
from shared.ports import Column, FileFormat, LineageKey

REPLACE_SLICE_SQL = PROCEDURES_DIR / "engine" / "replace_slice.sql"

# Python type -> query parameter type. Order matters: bool is an int, datetime is a date.
_PARAM_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "BOOL"),
    (int, "INT64"),
    (float, "FLOAT64"),
    (Decimal, "NUMERIC"),
    (datetime, "TIMESTAMP"),
    (date, "DATE"),
    (str, "STRING"),
)
# BigQuery answers 403 (not 429) when a rate or quota limit is hit: transient all the same.
_TRANSIENT_403_REASONS = frozenset({"rateLimitExceeded", "quotaExceeded", "backendError"})
_NOT_IDENTIFIER_CHARS = re.compile(r"[^A-Za-z0-9_]")
# The client's own default retries a dead endpoint for 10 minutes (40 for a query job):
# a request or a step would hang that long before saying anything. Ours give up sooner.
DEFAULT_RETRY_DEADLINE_S = 60.0
MIN_REQUEST_TIMEOUT_S = 60.0
# load_rows and replace_slice load in payloads of about this size: bounded memory, and few
# enough load jobs (BigQuery allows 1,500 per table per day). Not 32 MiB: the emulator's
# JSON reader (DuckDB) misreads a file within a few bytes of 2**25 ("Malformed JSON").
_LOAD_BATCH_BYTES = 30_000_000

RowCheck = Callable[[int, Mapping[str, Any]], None]


# BigQuery cancels a transaction that mutates a table another job is mutating ("Transaction
# is aborted due to concurrent update against table ..."), where DML outside a transaction
# would have queued: two runs of one org replacing their slices of cost_data_standard_1_3
# at once. The transaction left nothing behind and every script that opens one replaces
# a slice, so running it again is safe.
_CONCURRENT_UPDATE = "aborted due to concurrent update"
# the predicate of the client's DEFAULT_JOB_RETRY (unannotated), which ours extends
_client_restarts: Callable[[BaseException], bool] = _job_should_retry


def job_should_restart(exc: BaseException) -> bool:
    """Whether a failed query job is run again: the client's own reasons, and a
    transaction aborted by a concurrent update."""
    if _client_restarts(exc):
        return True
    cause = exc.cause if isinstance(exc, gexc.RetryError) else exc
    return isinstance(cause, gexc.BadRequest) and _CONCURRENT_UPDATE in str(cause.message)


class BigQueryWarehouse:
    """Warehouse (shared.ports) on a ``bigquery.Client``; datasets live in ``project_id``."""

    def __init__(
        self,
        client: bigquery.Client | Callable[[], bigquery.Client],
        project_id: str,
        *,
        location: str | None = None,
        retry_deadline_seconds: float = DEFAULT_RETRY_DEADLINE_S,
    ) -> None:
        """``client`` may be a factory: it is then called on first use (the embedded
        runtime starts its emulator only when a command touches the warehouse).

        ``retry_deadline_seconds`` bounds how long one API call is retried (an
        unreachable endpoint then fails with DependencyUnavailable); a query job's
        re-runs are bounded by twice that, so a dead endpoint fails a query within
        about three deadlines instead of the client's 40 minutes."""
        if retry_deadline_seconds <= 0:
            raise ValueError("retry_deadline_seconds must be positive")
        self.project_id = validate_project_id(project_id)
        self._client_or_factory = client
        self._client_lock = threading.Lock()
        self._location = location
        self._retry = DEFAULT_RETRY.with_deadline(retry_deadline_seconds)
        # Twice the call deadline, as the client's defaults keep it (an ambiguous job
        # error first refreshes the job, then restarts it). A script whose transaction
        # BigQuery aborted for a concurrent update of its table is restarted too.
        self._job_retry = DEFAULT_JOB_RETRY.with_deadline(
            2 * retry_deadline_seconds
        ).with_predicate(job_should_restart)
        # Per HTTP request: a slow answer is not an outage (the emulator runs a query
        # inside jobs.insert), so never shorter than MIN_REQUEST_TIMEOUT_S; it still
        # ends a wait on an endpoint that accepts connections and never answers.
        self._timeout = max(retry_deadline_seconds, MIN_REQUEST_TIMEOUT_S)
        # Uploads retry on their own schedule (sleeps of 1, 2, 4... s; 6 tries = 63 s by
        # default): as many as fit in the deadline, at least one.
        self._upload_retries = max(1, int(math.log2(retry_deadline_seconds + 1)))

    @property
    def _client(self) -> bigquery.Client:
        with self._client_lock:
            if callable(self._client_or_factory):  # a client object is not callable
                self._client_or_factory = self._client_or_factory()
            return self._client_or_factory

    # -- DDL -------------------------------------------------------------------------
    def ensure_dataset(self, dataset: str) -> None:
        ref = bigquery.DatasetReference(self.project_id, validate_identifier(dataset, "dataset"))
        spec = bigquery.Dataset(ref)
        if self._location:
            spec.location = self._location
        with _translated_errors():
            self._client.create_dataset(
                spec, exists_ok=True, retry=self._retry, timeout=self._timeout
            )

    def ensure_table(self, dataset: str, table: str, columns: Sequence[Column]) -> None:
        """Create the table if missing; add the columns a newer release declares.

        Added columns are nullable, so existing rows read NULL (a migration in
        procedures/migrations/ fills them where a value can be derived); nothing is changed
        or dropped. The columns are added by ``ALTER TABLE ... ADD COLUMN``: a metadata
        update on BigQuery, and the one form bqemulator also applies to the stored rows (a
        tables.update schema change it records but does not store).
        """
        table_id = self._table_id(dataset, table)
        with _translated_errors():
            existing = self._client.create_table(
                _table(table_id, columns),
                exists_ok=True,
                retry=self._retry,
                timeout=self._timeout,
            )
        present = {field.name for field in existing.schema}
        missing = [c for c in columns if c.name not in present]
        if not missing:
            return
        # one ALTER per column: DuckDB (the emulator) takes a single action per ALTER
        self._run(
            ";\n".join(
                f"ALTER TABLE `{table_id}` ADD COLUMN IF NOT EXISTS "
                f"{validate_identifier(c.name, 'column')} {_ddl_type(c)}"
                for c in missing
            )
        )
        with _translated_errors():
            altered = self._client.get_table(table_id, retry=self._retry, timeout=self._timeout)
            recorded = {field.name for field in altered.schema}
            if any(c.name not in recorded for c in missing):
                # bqemulator stores the columns but does not record them in the table's
                # schema, which its load jobs read: record them (BigQuery already has)
                altered.schema = [
                    *altered.schema,
                    *_schema([c for c in missing if c.name not in recorded]),
                ]
                self._client.update_table(
                    altered, ["schema"], retry=self._retry, timeout=self._timeout
                )

    # -- SQL -------------------------------------------------------------------------
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        config = bigquery.QueryJobConfig(
            query_parameters=[_parameter(name, value) for name, value in (params or {}).items()]
        )
        with _translated_errors():
            return [dict(row.items()) for row in self._run(sql, config)]

    def run_script(self, sql: str) -> None:
        with _translated_errors():
            self._run(sql)

    def _run(self, sql: str, config: bigquery.QueryJobConfig | None = None) -> Any:
        """One query job to completion, every API call under our retry bounds (no
        bound on the job's own run time: a long query is not an outage)."""
        job = self._client.query(
            sql,
            job_config=config,
            location=self._location,
            retry=self._retry,
            timeout=self._timeout,
            # None here: any job_retry makes the client wrap the job insert in its own
            # 10-minute retry. Inserting is still retried (``retry``); a failed job is
            # re-run under our bounded job_retry, given to result().
            job_retry=None,
        )
        return job.result(retry=self._retry, job_retry=self._job_retry)

    # -- loads -----------------------------------------------------------------------
    def load_rows(
        self,
        dataset: str,
        table: str,
        columns: Sequence[Column],
        rows: Iterable[Mapping[str, Any]],
        *,
        replace: bool = True,
    ) -> int:
        """Load rows with load jobs, for tables without lineage (an org's own inputs).

        ``replace`` truncates the table first and gives it ``columns`` as its schema;
        otherwise rows are appended. Returns the number of rows loaded. Rows are consumed
        lazily, one load job per ~32 MB of NDJSON, so memory holds one payload: an input
        that large loads in several jobs, and a failure part way leaves the earlier ones
        (callers loading big inputs load a staging table).
        """
        count = 0
        for payload, batch_count in _ndjson_batches(columns, rows, None, _LOAD_BATCH_BYTES):
            self._load(dataset, table, columns, payload, batch_count, replace=replace and not count)
            count += batch_count
        if count == 0:
            self._load(dataset, table, columns, b"", 0, replace=replace)
        return count

    def load_file(
        self,
        dataset: str,
        table: str,
        columns: Sequence[Column],
        path: Path,
        source_format: FileFormat,
        *,
        replace: bool = True,
    ) -> int:
        config = _load_config(columns, source_format, replace=replace)
        # Rows loaded = the table's rows after less before: the emulator's output_rows is
        # the table's size after an append, BigQuery's the rows the job added.
        before = 0 if replace else self._row_count(dataset, table)
        with path.open("rb") as handle:
            self._run_load(handle, dataset, table, config)
        return self._row_count(dataset, table) - before

    def _row_count(self, dataset: str, table: str) -> int:
        with _translated_errors():
            try:
                return int(self._client.get_table(self._table_id(dataset, table)).num_rows or 0)
            except gexc.NotFound:
                return 0

    def replace_slice(
        self,
        dataset: str,
        table: str,
        columns: Sequence[Column],
        rows: Iterable[Mapping[str, Any]],
        key: LineageKey,
        *,
        job_tag: str,
    ) -> int:
        missing = [name for name in LINEAGE_COLUMN_NAMES if name not in {c.name for c in columns}]
        if missing:
            raise BadRequest(f"{table}: columns lack the lineage columns {missing}", table=table)
        if key.end_date < key.start_date:
            raise BadRequest(
                f"lineage key range is empty: {key.start_date} is after {key.end_date}",
                field="end_date",
            )
        staging = f"_stg_{table}_{_NOT_IDENTIFIER_CHARS.sub('_', job_tag)}"
        script = render_sql(
            REPLACE_SLICE_SQL,
            identifiers={
                "project_id": self.project_id,
                "dataset": dataset,
                "target_table": table,
                "staging_table": staging,
            },
            identifier_lists={"columns": [c.name for c in columns]},
            literals={
                "org_slug": key.org_slug,
                "pipeline_id": key.pipeline_id,
                "credential_id": key.credential_id,
                "start_date": key.start_date,
                "end_date": key.end_date,
            },
        )
        # Rows are serialised and loaded into the staging table in batches as they come,
        # so memory holds one batch, never the slice (a month of provider pages can be
        # millions of rows). Every row is checked while it is serialised; a bad row fails
        # the write before the script runs, so the target table is never touched.
        count = 0
        try:
            batches = _ndjson_batches(columns, rows, _lineage_check(key), _LOAD_BATCH_BYTES)
            for payload, batch_count in batches:
                self._load(dataset, staging, columns, payload, batch_count, replace=count == 0)
                count += batch_count
            if count == 0:
                self._load(dataset, staging, columns, b"", 0, replace=True)
            self.run_script(script)
        except BaseException:
            # Keep the original error; a staging table left behind is overwritten by the
            # next attempt with the same tag.
            with contextlib.suppress(Exception):
                self._drop_table(dataset, staging)
            raise
        self._drop_table(dataset, staging)
        return count

    def _load(
        self,
        dataset: str,
        table: str,
        columns: Sequence[Column],
        payload: bytes,
        count: int,
        *,
        replace: bool,
    ) -> None:
        if count == 0:
            # An empty load job fails on the emulator (resumable upload of 0 bytes), so an
            # empty load is "make sure the table exists (and is empty when replacing)".
            self.ensure_table(dataset, table, columns)
            if replace:
                target = table_ref(self.project_id, dataset, table)
                self.run_script(f"DELETE FROM {target} WHERE TRUE")
            return
        config = _load_config(columns, "NEWLINE_DELIMITED_JSON", replace=replace)
        self._run_load(io.BytesIO(payload), dataset, table, config)

    def _run_load(
        self, source: IO[bytes], dataset: str, table: str, config: bigquery.LoadJobConfig
    ) -> bigquery.LoadJob:
        with _translated_errors():
            job = self._client.load_table_from_file(
                source,
                self._table_id(dataset, table),
                job_config=config,
                location=self._location,
                num_retries=self._upload_retries,
                timeout=self._timeout,
            )
            job.result(retry=self._retry)
        return job

    def _drop_table(self, dataset: str, table: str) -> None:
        with _translated_errors():
            self._client.delete_table(
                self._table_id(dataset, table),
                not_found_ok=True,
                retry=self._retry,
                timeout=self._timeout,
            )

    def _table_id(self, dataset: str, table: str) -> str:
        validate_identifier(dataset, "dataset")
        validate_identifier(table, "table")
        return f"{self.project_id}.{dataset}.{table}"


def _load_config(
    columns: Sequence[Column], source_format: FileFormat, *, replace: bool
) -> bigquery.LoadJobConfig:
    """A load job into a table of ``columns``: truncating it first, or appending."""
    return bigquery.LoadJobConfig(
        source_format=source_format,
        schema=_schema(columns),
        write_disposition=(
            bigquery.WriteDisposition.WRITE_TRUNCATE
            if replace
            else bigquery.WriteDisposition.WRITE_APPEND
        ),
    )


def _schema(columns: Sequence[Column]) -> list[bigquery.SchemaField]:
    return [
        bigquery.SchemaField(
            validate_identifier(c.name, "column"), c.type, mode=c.mode, fields=_schema(c.fields)
        )
        for c in columns
    ]


def _table(table_id: str, columns: Sequence[Column]) -> bigquery.Table:
    """The table as it is created: a lineage table partitioned by day and clustered
    (shared/domain/table_layout.py). A table that exists keeps its layout: BigQuery
    cannot repartition in place (docs/COST_MODEL.md says how to rebuild one)."""
    table = bigquery.Table(table_id, schema=_schema(columns))
    layout = layout_for(columns)
    if layout.partition_by is not None:
        table.time_partitioning = bigquery.TimePartitioning(
            type_=bigquery.TimePartitioningType.DAY, field=layout.partition_by
        )
    if layout.cluster_by:
        table.clustering_fields = list(layout.cluster_by)
    return table


def _ddl_type(column: Column) -> str:
    """The column's type as DDL writes it (a RECORD as STRUCT<...>, REPEATED as ARRAY<...>).

    NOT NULL is never written: ADD COLUMN only takes nullable columns."""
    if column.fields:
        inner = ", ".join(
            f"{validate_identifier(f.name, 'column')} {_ddl_type(f)}" for f in column.fields
        )
        base = f"STRUCT<{inner}>"
    else:
        base = column.type
    return f"ARRAY<{base}>" if column.mode == "REPEATED" else base


def _parameter(name: str, value: Any) -> bigquery.ScalarQueryParameter:
    validate_identifier(name, "query parameter")
    bq_type = next((bq for py, bq in _PARAM_TYPES if isinstance(value, py)), None)
    if bq_type is None:
        raise BadRequest(
            f"query parameter @{name}: cannot infer a BigQuery type for {type(value).__name__}",
            field=name,
        )
    return bigquery.ScalarQueryParameter(name, bq_type, value)


# -- NDJSON ------------------------------------------------------------------------------
def _to_ndjson(
    columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], check: RowCheck | None = None
) -> tuple[bytes, int]:
    """All rows as one NDJSON payload (a single load job: all or nothing)."""
    return next(_ndjson_batches(columns, rows, check, sys.maxsize), (b"", 0))


def _ndjson_batches(
    columns: Sequence[Column],
    rows: Iterable[Mapping[str, Any]],
    check: RowCheck | None,
    max_bytes: int,
) -> Iterator[tuple[bytes, int]]:
    """NDJSON payloads of at most ~``max_bytes`` each (one line may exceed it), lazily."""
    payload, count = io.BytesIO(), 0
    for line in _ndjson_lines(columns, rows, check):
        if count and payload.tell() + len(line) + 1 > max_bytes:
            yield payload.getvalue(), count
            payload, count = io.BytesIO(), 0
        payload.write(b"\n" if count else b"")
        payload.write(line)
        count += 1
    if count:
        yield payload.getvalue(), count


def _ndjson_lines(
    columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], check: RowCheck | None
) -> Iterator[bytes]:
    """One pass: check each row, then yield it as one JSON line. Nulls are left out."""
    json_columns = {c.name for c in columns if c.type.upper() == "JSON"}
    known = {c.name for c in columns}
    for index, row in enumerate(rows):
        if check is not None:
            check(index, row)
        record: dict[str, Any] = {}
        for name, value in row.items():
            if name not in known:
                raise BadRequest(f"row {index}: {name!r} is not a column", row=index, field=name)
            if value is None:
                continue
            if name in json_columns and isinstance(value, str):
                value = _parse_json_text(value, index, name)
            record[name] = value
        try:
            line = json.dumps(record, default=_json_default, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:  # a value JSON (or BigQuery) cannot hold
            raise BadRequest(f"row {index}: {exc}", row=index) from exc
        yield line.encode("utf-8")


def _json_default(value: object) -> object:
    # NUMERIC travels as a string so no digit is lost to a float on the way.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _parse_json_text(value: str, index: int, name: str) -> Any:
    # A JSON column takes the JSON value itself; text given for it must be JSON.
    try:
        return json.loads(value)
    except ValueError as exc:
        raise BadRequest(f"row {index}: {name} is not valid JSON", row=index, field=name) from exc


def _lineage_check(key: LineageKey) -> RowCheck:
    expected = {
        "x_org_slug": key.org_slug,
        "x_pipeline_id": key.pipeline_id,
        "x_credential_id": key.credential_id,
    }

    def check(index: int, row: Mapping[str, Any]) -> None:
        for name in LINEAGE_COLUMN_NAMES:
            if row.get(name) is None:
                raise BadRequest(
                    f"row {index}: lineage field {name} is missing", row=index, field=name
                )
        # A row outside the key would survive the next replace of its slice: a duplicate.
        for name, want in expected.items():
            if row[name] != want:
                raise BadRequest(
                    f"row {index}: {name} is {row[name]!r} but this write replaces {want!r}",
                    row=index,
                    field=name,
                )
        raw = row["x_pipeline_run_date"]
        day = _as_date(raw)
        if day is None:
            problem = f"is not a date: {raw!r}"
        elif not key.start_date <= day <= key.end_date:
            problem = f"{day} is outside {key.start_date}..{key.end_date}"
        else:
            return
        raise BadRequest(
            f"row {index}: x_pipeline_run_date {problem}", row=index, field="x_pipeline_run_date"
        )

    return check


def _as_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return None  # a DATE column takes a date, not a point in time
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


# -- errors ------------------------------------------------------------------------------
@contextlib.contextmanager
def _translated_errors() -> Iterator[None]:
    """Turn client errors into ours: 400 keeps BigQuery's message, outages become 503."""
    try:
        yield
    except gexc.BadRequest as exc:
        raise BadRequest(exc.message) from exc
    except gexc.NotFound as exc:
        raise NotFound(exc.message) from exc
    except gexc.Forbidden as exc:
        if not {e.get("reason") for e in exc.errors or []} & _TRANSIENT_403_REASONS:
            raise
        raise DependencyUnavailable(f"BigQuery is throttling: {exc.message}") from exc
    except (gexc.TooManyRequests, gexc.ServerError, gexc.RetryError) as exc:
        raise DependencyUnavailable(f"BigQuery is unavailable: {exc}") from exc
    except OSError as exc:  # connection refused/reset, timeouts (requests' errors are OSErrors)
        raise DependencyUnavailable(f"cannot reach BigQuery: {exc}") from exc
