"""The Warehouse contract, run against BigQueryWarehouse on the embedded BigQuery."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from google.cloud import bigquery

from shared.adapters.bigquery import warehouse as bigquery_warehouse
from shared.adapters.bigquery.warehouse import BigQueryWarehouse
from shared.domain.errors import BadRequest, NotFound
from shared.domain.focus import LINEAGE_COLUMNS
from shared.domain.sql import table_ref
from shared.ports import Column, FileFormat, LineageKey

pytestmark = pytest.mark.warehouse

TABLE = "usage_daily"
COLUMNS: tuple[Column, ...] = (
    Column("item", "STRING"),
    Column("cost", "NUMERIC"),
    Column("used_at", "TIMESTAMP"),
    Column("labels", "JSON"),
    *LINEAGE_COLUMNS,
)
KEY = LineageKey("acme", "pipe-1", "cred-1", date(2025, 3, 1), date(2025, 3, 2))
INGESTED = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def make_rows(
    key: LineageKey = KEY, *, cost: str = "1.5", run_id: str = "run-1"
) -> list[dict[str, Any]]:
    """Two items on each day of the key's range."""
    rows = []
    for offset in range((key.end_date - key.start_date).days + 1):
        day = key.start_date + timedelta(days=offset)
        for item in ("a", "b"):
            rows.append(
                {
                    "item": item,
                    "cost": Decimal(cost),
                    "used_at": datetime(day.year, day.month, day.day, 8, tzinfo=UTC),
                    "labels": {"team": "core", "n": 1},
                    "x_org_slug": key.org_slug,
                    "x_pipeline_id": key.pipeline_id,
                    "x_credential_id": key.credential_id,
                    "x_pipeline_run_date": day,
                    "x_run_id": run_id,
                    "x_ingested_at": INGESTED,
                    "x_ingestion_date": INGESTED.date(),
                    "x_source_system": "test",
                }
            )
    return rows


def all_rows(warehouse: BigQueryWarehouse, dataset: str) -> list[dict[str, Any]]:
    ref = table_ref(warehouse.project_id, dataset, TABLE)
    return warehouse.query(
        f"SELECT * FROM {ref} ORDER BY x_credential_id, x_pipeline_run_date, item"
    )


def table_names(bq_client: bigquery.Client, warehouse: BigQueryWarehouse, dataset: str) -> set[str]:
    return {t.table_id for t in bq_client.list_tables(f"{warehouse.project_id}.{dataset}")}


# -- DDL ---------------------------------------------------------------------------------
def test_ensure_dataset_and_table_are_idempotent(
    warehouse: BigQueryWarehouse, dataset: str, bq_client: bigquery.Client
) -> None:
    warehouse.ensure_dataset(dataset)
    warehouse.ensure_table(dataset, TABLE, COLUMNS)
    warehouse.ensure_table(dataset, TABLE, COLUMNS[:2])  # exists: left as it is

    schema = bq_client.get_table(f"{warehouse.project_id}.{dataset}.{TABLE}").schema
    assert [(f.name, f.field_type) for f in schema][:4] == [
        ("item", "STRING"),
        ("cost", "NUMERIC"),
        ("used_at", "TIMESTAMP"),
        ("labels", "JSON"),
    ]
    assert len(schema) == len(COLUMNS)


def test_a_lineage_table_is_partitioned_by_usage_day_and_clustered_by_its_key(
    warehouse: BigQueryWarehouse, dataset: str, bq_client: bigquery.Client
) -> None:
    """What BigQuery bills a daily run for depends on this metadata (docs/COST_MODEL.md);
    the emulator ignores it when it runs a query, so the metadata itself is checked."""
    warehouse.ensure_table(dataset, TABLE, COLUMNS)
    warehouse.ensure_table(dataset, "plain", COLUMNS[:2])
    table = bq_client.get_table(f"{warehouse.project_id}.{dataset}.{TABLE}")
    assert table.time_partitioning is not None
    assert (table.time_partitioning.type_, table.time_partitioning.field) == (
        "DAY",
        "x_pipeline_run_date",
    )
    assert table.clustering_fields == ["x_pipeline_id", "x_credential_id", "x_run_id"]
    plain = bq_client.get_table(f"{warehouse.project_id}.{dataset}.plain")
    assert plain.time_partitioning is None
    assert plain.clustering_fields is None


def test_ensure_table_adds_new_columns_in_place(
    warehouse: BigQueryWarehouse, dataset: str, bq_client: bigquery.Client
) -> None:
    """A newer release's extra columns (nested ones too) are added; existing rows read NULL."""
    warehouse.ensure_table(dataset, TABLE, COLUMNS[:2])
    ref = f"`{warehouse.project_id}.{dataset}.{TABLE}`"
    warehouse.run_script(f"INSERT INTO {ref} (item, cost) VALUES ('old', 1.5)")
    nested = Column(
        "resource",
        "RECORD",
        fields=(Column("name", "STRING"), Column("tags", "STRING", mode="REPEATED")),
    )
    warehouse.ensure_table(dataset, TABLE, (*COLUMNS, nested))
    warehouse.ensure_table(dataset, TABLE, (*COLUMNS, nested))  # nothing left to add

    schema = bq_client.get_table(f"{warehouse.project_id}.{dataset}.{TABLE}").schema
    assert [f.name for f in schema] == [c.name for c in (*COLUMNS, nested)]
    assert [f.name for f in schema[-1].fields] == ["name", "tags"]
    rows = warehouse.query(f"SELECT item, cost, used_at, x_ingestion_date, resource FROM {ref}")
    assert len(rows) == 1
    assert (rows[0]["item"], rows[0]["used_at"], rows[0]["x_ingestion_date"]) == ("old", None, None)
    assert not rows[0]["resource"] or rows[0]["resource"].get("name") is None


def test_ensure_table_rejects_unsafe_names(warehouse: BigQueryWarehouse, dataset: str) -> None:
    with pytest.raises(BadRequest):
        warehouse.ensure_table(dataset, "bad-name", COLUMNS)
    with pytest.raises(BadRequest):
        warehouse.ensure_dataset("x; DROP")


# -- query / run_script ------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        "it's text",
        42,
        2.5,
        Decimal("123.456789012"),
        True,
        date(2025, 2, 28),
        datetime(2025, 2, 28, 13, 45, 1, tzinfo=UTC),
    ],
    ids=["str", "int", "float", "decimal", "bool", "date", "datetime"],
)
def test_query_parameters_keep_their_type(warehouse: BigQueryWarehouse, value: object) -> None:
    rows = warehouse.query("SELECT @v AS v, @v = @v AS same", {"v": value})
    assert rows == [{"v": value, "same": True}]
    assert type(rows[0]["v"]) is type(value)


def test_query_rejects_a_parameter_it_cannot_type(warehouse: BigQueryWarehouse) -> None:
    with pytest.raises(BadRequest, match="@v"):
        warehouse.query("SELECT @v AS v", {"v": [1, 2]})


def test_bigquery_errors_keep_their_message(warehouse: BigQueryWarehouse, dataset: str) -> None:
    with pytest.raises(BadRequest):
        warehouse.query("SELEC 1")
    missing = table_ref(warehouse.project_id, dataset, "nope")
    with pytest.raises(NotFound, match="nope"):
        warehouse.query(f"SELECT * FROM {missing}")


def test_run_script_runs_a_multi_statement_script(
    warehouse: BigQueryWarehouse, dataset: str
) -> None:
    warehouse.ensure_table(dataset, "t", [Column("n", "INT64")])
    ref = table_ref(warehouse.project_id, dataset, "t")
    warehouse.run_script(
        f"DECLARE x INT64 DEFAULT 2;\nINSERT INTO {ref} (n) VALUES (x);\n"
        f"INSERT INTO {ref} (n) SELECT n * 10 FROM {ref};"
    )
    assert warehouse.query(f"SELECT SUM(n) AS s FROM {ref}") == [{"s": 22}]


# -- replace_slice -----------------------------------------------------------------------
def test_replace_slice_writes_rows_with_every_type(
    warehouse: BigQueryWarehouse, dataset: str
) -> None:
    warehouse.ensure_table(dataset, TABLE, COLUMNS)
    assert warehouse.replace_slice(dataset, TABLE, COLUMNS, make_rows(), KEY, job_tag="t1") == 4

    first = all_rows(warehouse, dataset)[0]
    assert first["item"] == "a"
    assert first["cost"] == Decimal("1.5")
    assert first["used_at"] == datetime(2025, 3, 1, 8, tzinfo=UTC)
    assert first["labels"] == {"team": "core", "n": 1}
    assert first["x_pipeline_run_date"] == date(2025, 3, 1)
    assert first["x_ingested_at"] == INGESTED


def test_replace_slice_twice_leaves_the_same_rows(
    warehouse: BigQueryWarehouse, dataset: str, bq_client: bigquery.Client
) -> None:
    warehouse.ensure_table(dataset, TABLE, COLUMNS)
    warehouse.replace_slice(dataset, TABLE, COLUMNS, make_rows(), KEY, job_tag="run-1/step")
    once = all_rows(warehouse, dataset)
    warehouse.replace_slice(dataset, TABLE, COLUMNS, make_rows(), KEY, job_tag="run-1/step")

    assert all_rows(warehouse, dataset) == once
    assert len(once) == 4
    assert table_names(bq_client, warehouse, dataset) == {TABLE}  # staging dropped


def test_replace_slice_replaces_only_its_own_slice(
    warehouse: BigQueryWarehouse, dataset: str
) -> None:
    warehouse.ensure_table(dataset, TABLE, COLUMNS)
    other_credential = LineageKey("acme", "pipe-1", "cred-2", KEY.start_date, KEY.end_date)
    next_days = LineageKey("acme", "pipe-1", "cred-1", date(2025, 3, 3), date(2025, 3, 3))
    for key in (KEY, other_credential, next_days):
        warehouse.replace_slice(dataset, TABLE, COLUMNS, make_rows(key), key, job_tag="a")

    # Rerun the first day of KEY with new costs: only that day of that slice changes.
    one_day = LineageKey("acme", "pipe-1", "cred-1", KEY.start_date, KEY.start_date)
    rerun = make_rows(one_day, cost="9", run_id="run-2")
    warehouse.replace_slice(dataset, TABLE, COLUMNS, rerun, one_day, job_tag="b")

    by_slice = {
        (r["x_credential_id"], r["x_pipeline_run_date"], r["item"]): (r["cost"], r["x_run_id"])
        for r in all_rows(warehouse, dataset)
    }
    assert by_slice[("cred-1", date(2025, 3, 1), "a")] == (Decimal(9), "run-2")
    assert by_slice[("cred-1", date(2025, 3, 2), "a")] == (Decimal("1.5"), "run-1")
    assert by_slice[("cred-2", date(2025, 3, 1), "b")] == (Decimal("1.5"), "run-1")
    assert by_slice[("cred-1", date(2025, 3, 3), "b")] == (Decimal("1.5"), "run-1")
    assert len(by_slice) == 10


def test_replace_slice_with_no_rows_empties_the_slice(
    warehouse: BigQueryWarehouse, dataset: str, bq_client: bigquery.Client
) -> None:
    warehouse.ensure_table(dataset, TABLE, COLUMNS)
    warehouse.replace_slice(dataset, TABLE, COLUMNS, make_rows(), KEY, job_tag="t")
    assert warehouse.replace_slice(dataset, TABLE, COLUMNS, [], KEY, job_tag="t") == 0
    assert all_rows(warehouse, dataset) == []
    assert table_names(bq_client, warehouse, dataset) == {TABLE}


def _without(field: str) -> list[dict[str, Any]]:
    rows = make_rows()
    del rows[2][field]
    return rows


def _with(field: str, value: object) -> list[dict[str, Any]]:
    rows = make_rows()
    rows[2][field] = value
    return rows


@pytest.mark.parametrize(
    ("rows", "field", "message"),
    [
        (_without("x_run_id"), "x_run_id", "row 2: lineage field x_run_id is missing"),
        (_with("x_credential_id", None), "x_credential_id", "row 2: lineage field"),
        (_with("x_pipeline_run_date", date(2025, 3, 5)), "x_pipeline_run_date", "outside"),
        (_with("x_pipeline_run_date", "March 1st"), "x_pipeline_run_date", "not a date"),
        (_with("x_org_slug", "other"), "x_org_slug", "row 2: x_org_slug is 'other'"),
        (_with("colour", "red"), "colour", "row 2: 'colour' is not a column"),
        (_with("labels", "{not json"), "labels", "row 2: labels is not valid JSON"),
    ],
    ids=["missing", "null", "date-outside", "not-a-date", "other-org", "unknown", "bad-json"],
)
def test_replace_slice_rejects_a_bad_row_before_writing_anything(
    warehouse: BigQueryWarehouse,
    dataset: str,
    bq_client: bigquery.Client,
    rows: list[dict[str, Any]],
    field: str,
    message: str,
) -> None:
    warehouse.ensure_table(dataset, TABLE, COLUMNS)
    warehouse.replace_slice(dataset, TABLE, COLUMNS, make_rows(), KEY, job_tag="good")
    before = all_rows(warehouse, dataset)

    with pytest.raises(BadRequest, match=message) as caught:
        warehouse.replace_slice(dataset, TABLE, COLUMNS, rows, KEY, job_tag="bad")

    assert caught.value.details["row"] == 2
    assert caught.value.details["field"] == field
    assert all_rows(warehouse, dataset) == before
    assert table_names(bq_client, warehouse, dataset) == {TABLE}


def test_replace_slice_rejects_a_value_json_cannot_carry(
    warehouse: BigQueryWarehouse, dataset: str
) -> None:
    warehouse.ensure_table(dataset, TABLE, COLUMNS)
    with pytest.raises(BadRequest, match="row 2") as caught:
        warehouse.replace_slice(
            dataset, TABLE, COLUMNS, _with("cost", float("nan")), KEY, job_tag="t"
        )
    assert caught.value.details == {"row": 2}
    assert all_rows(warehouse, dataset) == []


def test_replace_slice_needs_the_lineage_columns(
    warehouse: BigQueryWarehouse, dataset: str
) -> None:
    with pytest.raises(BadRequest, match="lineage columns"):
        warehouse.replace_slice(dataset, TABLE, COLUMNS[:4], [], KEY, job_tag="t")


def test_a_failing_script_rolls_back_and_drops_staging(
    warehouse: BigQueryWarehouse, dataset: str, bq_client: bigquery.Client
) -> None:
    # The target lacks a column the rows carry: the INSERT fails after the DELETE ran.
    warehouse.ensure_table(dataset, TABLE, [c for c in COLUMNS if c.name != "labels"])
    slim = [c for c in COLUMNS if c.name != "labels"]
    rows = [{k: v for k, v in r.items() if k != "labels"} for r in make_rows()]
    warehouse.replace_slice(dataset, TABLE, slim, rows, KEY, job_tag="ok")
    before = all_rows(warehouse, dataset)

    with pytest.raises(BadRequest):
        warehouse.replace_slice(dataset, TABLE, COLUMNS, make_rows(), KEY, job_tag="fails")

    assert all_rows(warehouse, dataset) == before
    assert table_names(bq_client, warehouse, dataset) == {TABLE}


def test_replace_slice_loads_in_batches_and_a_late_bad_row_writes_nothing(
    warehouse: BigQueryWarehouse,
    dataset: str,
    bq_client: bigquery.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One row per staging load: the rows stream in batches (memory holds one batch).
    monkeypatch.setattr(bigquery_warehouse, "_LOAD_BATCH_BYTES", 1)
    warehouse.ensure_table(dataset, TABLE, COLUMNS)
    assert warehouse.replace_slice(dataset, TABLE, COLUMNS, make_rows(), KEY, job_tag="b") == 4
    before = all_rows(warehouse, dataset)
    assert [r["item"] for r in before] == ["a", "b", "a", "b"]

    # Row 4 is bad: four batches already reached staging, the target is left as it was.
    bad = [*make_rows(cost="9"), {**make_rows()[0], "x_org_slug": "other"}]
    with pytest.raises(BadRequest, match="row 4: x_org_slug"):
        warehouse.replace_slice(dataset, TABLE, COLUMNS, bad, KEY, job_tag="late-bad")

    assert all_rows(warehouse, dataset) == before
    assert table_names(bq_client, warehouse, dataset) == {TABLE}


# -- load_rows ---------------------------------------------------------------------------
def test_load_rows_replaces_or_appends(warehouse: BigQueryWarehouse, dataset: str) -> None:
    columns = [Column("name", "STRING"), Column("n", "INT64")]
    ref = table_ref(warehouse.project_id, dataset, "plain")
    assert warehouse.load_rows(dataset, "plain", columns, [{"name": "x", "n": 1}]) == 1
    warehouse.load_rows(dataset, "plain", columns, [{"name": "y", "n": 2}], replace=False)
    assert warehouse.query(f"SELECT name FROM {ref} ORDER BY n") == [{"name": "x"}, {"name": "y"}]

    warehouse.load_rows(dataset, "plain", columns, [{"name": "z", "n": 3}])
    assert warehouse.query(f"SELECT name FROM {ref}") == [{"name": "z"}]
    assert warehouse.load_rows(dataset, "plain", columns, []) == 0
    assert warehouse.query(f"SELECT COUNT(*) AS c FROM {ref}") == [{"c": 0}]


def test_load_rows_streams_in_batches_replacing_first(
    warehouse: BigQueryWarehouse, dataset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One row per load job: a generator is consumed lazily, the first job truncates.
    monkeypatch.setattr(bigquery_warehouse, "_LOAD_BATCH_BYTES", 1)
    columns = [Column("name", "STRING"), Column("n", "INT64")]
    ref = table_ref(warehouse.project_id, dataset, "streamed")
    warehouse.load_rows(dataset, "streamed", columns, [{"name": "old", "n": 0}])
    rows = ({"name": f"r{i}", "n": i} for i in range(1, 4))
    assert warehouse.load_rows(dataset, "streamed", columns, rows) == 3
    assert warehouse.query(f"SELECT name FROM {ref} ORDER BY n") == [
        {"name": "r1"},
        {"name": "r2"},
        {"name": "r3"},
    ]


def _write_file(path: Path, rows: list[dict[str, Any]]) -> None:
    """``rows`` of (name STRING, n INT64, tags RECORD REPEATED) in the format the name says."""
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif path.suffix == ".avro":
        tag = {"type": "record", "name": "tag", "fields": [{"name": "key", "type": "string"}]}
        schema = {
            "type": "record",
            "name": "row",
            "fields": [
                {"name": "name", "type": ["null", "string"]},
                {"name": "n", "type": ["null", "long"]},
                {"name": "tags", "type": {"type": "array", "items": tag}},
            ],
        }
        with path.open("wb") as out:
            fastavro.writer(out, fastavro.parse_schema(schema), rows)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.parametrize(
    ("name", "source_format"),
    [("rows.parquet", "PARQUET"), ("rows.avro", "AVRO"), ("rows.json", "NEWLINE_DELIMITED_JSON")],
)
def test_load_file_reads_the_file_itself_replacing_or_appending(
    warehouse: BigQueryWarehouse,
    dataset: str,
    tmp_path: Path,
    name: str,
    source_format: FileFormat,
) -> None:
    columns = [
        Column("name", "STRING"),
        Column("n", "INT64"),
        Column("tags", "RECORD", "REPEATED", (Column("key", "STRING"),)),
    ]
    first, second = tmp_path / f"a_{name}", tmp_path / f"b_{name}"
    _write_file(
        first, [{"name": "x", "n": 1, "tags": [{"key": "k"}]}, {"name": "y", "n": 2, "tags": []}]
    )
    _write_file(second, [{"name": "z", "n": 3, "tags": []}])
    table = "from_" + source_format.lower()
    ref = table_ref(warehouse.project_id, dataset, table)
    assert warehouse.load_file(dataset, table, columns, first, source_format) == 2
    assert warehouse.load_file(dataset, table, columns, second, source_format, replace=False) == 1
    assert warehouse.query(f"SELECT name, n, tags FROM {ref} ORDER BY n") == [
        {"name": "x", "n": 1, "tags": [{"key": "k"}]},
        {"name": "y", "n": 2, "tags": []},
        {"name": "z", "n": 3, "tags": []},
    ]
    assert warehouse.load_file(dataset, table, columns, second, source_format) == 1
    assert warehouse.query(f"SELECT name FROM {ref}") == [{"name": "z"}]
