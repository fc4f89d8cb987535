"""The embedded warehouse copies nothing behind a write (bqemulator's time-travel captures).

bqemulator 1.4 copied the whole table after every DML statement, load and stream, for
``FOR SYSTEM_TIME AS OF``; a slice replace on the FOCUS table then cost a copy of its whole
history. shared/adapters/bigquery/emulator.py skips those AUTO captures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.adapters.bigquery.emulator import EmbeddedBigQuery
from shared.adapters.bigquery.warehouse import BigQueryWarehouse
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
