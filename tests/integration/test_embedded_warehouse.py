"""The embedded warehouse copies nothing behind a write (bqemulator's time-travel captures).

bqemulator 1.4 copied the whole table after every DML statement, load and stream, for
``FOR SYSTEM_TIME AS OF``; a slice replace on the FOCUS table then cost a copy of its whole
history. shared/adapters/bigquery/emulator.py skips those AUTO captures. It also makes a
CALL inside a transaction part of it (bqemulator ran the body outside it), and filters
``x IN UNNEST(array)`` with DuckDB's list_contains, not a semi join.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.adapters.bigquery.emulator import EmbeddedBigQuery
from shared.adapters.bigquery.warehouse import BigQueryWarehouse
from shared.domain.errors import BadRequest
from shared.domain.sql import table_ref
from shared.ports import Column

pytestmark = pytest.mark.warehouse

PROJECT = "snapshot-test"
COLUMNS = (Column("item", "STRING"), Column("n", "INT64"))


def test_writes_leave_no_time_travel_copy_and_keep_every_row(tmp_path: Path) -> None:
    with EmbeddedBigQuery(tmp_path, PROJECT) as bq:
        warehouse = BigQueryWarehouse(bq.client(), PROJECT)
        warehouse.ensure_dataset("d")
        warehouse.ensure_table("d", "t", COLUMNS)
        ref = table_ref(PROJECT, "d", "t")
        warehouse.run_script(
            f"INSERT INTO {ref} SELECT CAST(x AS STRING), x"
            " FROM UNNEST(GENERATE_ARRAY(1, 500)) AS x"
        )
        warehouse.run_script(f"DELETE FROM {ref} WHERE n <= 100")
        warehouse.load_rows("d", "t", COLUMNS, [{"item": "loaded", "n": 0}], replace=False)
        warehouse.run_script(f"UPDATE {ref} SET item = 'changed' WHERE n = 0")

        catalog = bq._server._context.catalog  # bqemulator 1.4.0 (pinned)
        assert list(catalog.list_all_snapshots()) == []
        (row,) = warehouse.query(
            f"SELECT COUNT(*) AS n, COUNTIF(item = 'changed') AS changed FROM {ref}"
        )
        assert (row["n"], row["changed"]) == (401, 1)


def test_a_call_inside_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    """bqemulator ran a CALLed body outside the caller's transaction: its writes stayed
    when the script failed after it. BigQuery rolls them back, and so does ours now."""
    with EmbeddedBigQuery(tmp_path, PROJECT) as bq:
        warehouse = BigQueryWarehouse(bq.client(), PROJECT)
        warehouse.ensure_dataset("d")
        warehouse.ensure_table("d", "t", COLUMNS)
        ref = table_ref(PROJECT, "d", "t")
        warehouse.run_script(f"INSERT INTO {ref} VALUES ('kept', 1)")
        warehouse.run_script(
            f"CREATE OR REPLACE PROCEDURE `{PROJECT}.d`.replace_all(p_item STRING)\n"
            f"BEGIN\n  DELETE FROM {ref} WHERE TRUE;\n"
            f"  INSERT INTO {ref} VALUES (p_item, 2);\nEND"
        )
        failing = (
            "BEGIN TRANSACTION;\n"
            f"CALL `{PROJECT}.d`.replace_all('new');\n"
            "SELECT ERROR('the check after the call failed');\n"
            "COMMIT TRANSACTION;"
        )
        with pytest.raises(BadRequest, match="the check after the call failed"):
            warehouse.run_script(failing)
        assert warehouse.query(f"SELECT item, n FROM {ref}") == [{"item": "kept", "n": 1}]

        warehouse.run_script(
            failing.replace("SELECT ERROR('the check after the call failed');", "")
        )
        assert warehouse.query(f"SELECT item, n FROM {ref}") == [{"item": "new", "n": 2}]
        # the emulator's transaction backups are gone after the rollback and the commit
        engine = bq._server._context.engine  # bqemulator 1.4.0 (pinned)
        backups = engine.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '_bqemu_txn_%'"
        ).fetchall()
        assert backups == []


def test_in_unnest_filters_keep_bigquerys_answers(session_warehouse: BigQueryWarehouse) -> None:
    """The rows an ``IN UNNEST`` keeps, NULLs included, wherever it stands: a filter
    (rewritten to list_contains), under NOT and in a SELECT list (left as they were)."""
    wh = session_warehouse
    wh.ensure_dataset("in_unnest")
    wh.ensure_table("in_unnest", "t", COLUMNS)
    ref = table_ref(wh.project_id, "in_unnest", "t")
    wh.run_script(f"INSERT INTO {ref} VALUES ('a', 1), ('b', 2), ('c', NULL), ('d', 4)")

    def items(where: str) -> list[str]:
        return [r["item"] for r in wh.query(f"SELECT item FROM {ref} WHERE {where} ORDER BY 1")]

    assert items("n IN UNNEST([1, 4])") == ["a", "d"]
    assert items("n IN UNNEST([1, NULL])") == ["a"]  # NULL matches nothing
    assert items("item = 'b' OR n IN UNNEST([4])") == ["b", "d"]
    assert items("n IN UNNEST(CAST([] AS ARRAY<INT64>))") == []
    # NOT: no match beside a NULL element is NULL, so NOT keeps no row of those either
    assert items("NOT n IN UNNEST([1, NULL])") == []
    assert items("NOT n IN UNNEST([1])") == ["b", "d"]
    hits = wh.query(f"SELECT item, n IN UNNEST([1, NULL]) AS hit FROM {ref} ORDER BY 1")
    assert [r["hit"] for r in hits] == [True, None, None, None]
    # a script variable, in a DELETE, as the extract and the slice replaces use it
    wh.run_script(
        "DECLARE gone ARRAY<INT64> DEFAULT [2, 4];\n"
        f"DELETE FROM {ref} WHERE item != 'a' AND n IN UNNEST(gone);"
    )
    assert items("TRUE") == ["a", "c"]
