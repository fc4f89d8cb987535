"""bench/cloud_conversions.py at a small size: the builder makes the rows asked for, varied,
and each provider's convert step in the bench converts every one of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.cloud_conversions import SEED_DAYS, SOURCES, measure_conversion
from bench.focus_conversion import PROJECT
from shared.adapters.bigquery.emulator import EmbeddedBigQuery
from shared.adapters.bigquery.warehouse import BigQueryWarehouse
from shared.domain.sql import table_ref

pytestmark = pytest.mark.warehouse

ROWS = 500  # more than one copy of every sample, so copies move across the window
# the column that names a line in each raw table (Azure's rows have none)
LINE_IDS = {"aws": "identity_line_item_id", "oci": "lineItem_referenceNo"}


@pytest.fixture(scope="module")
def bench_bq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBigQuery]:
    """A warehouse of the bench's project (the session's has another)."""
    with EmbeddedBigQuery(Path(tmp_path_factory.mktemp("bench-bq")), PROJECT) as bq:
        yield bq


@pytest.mark.parametrize("provider", sorted(SOURCES))
def test_bench_builds_the_rows_asked_and_converts_them_all(
    bench_bq: EmbeddedBigQuery, provider: str
) -> None:
    source = SOURCES[provider]
    seed, org = f"seed_{provider}", f"org_{provider}"
    figures = measure_conversion(
        bench_bq.client(), source, ROWS, seed_dataset=seed, org_dataset=org
    )
    assert (figures.rows, figures.focus_rows) == (ROWS, ROWS)
    assert figures.convert_s > figures.transaction_s > 0

    warehouse = BigQueryWarehouse(bench_bq.client(), PROJECT)
    raw = table_ref(PROJECT, org, source.raw_table)
    line_id = LINE_IDS.get(provider, "CAST(NULL AS STRING)")
    [shape] = warehouse.query(
        f"SELECT COUNT(DISTINCT x_pipeline_run_date) AS days,"
        f" COUNT(DISTINCT {line_id}) AS ids FROM {raw}"
    )
    assert shape["days"] > SEED_DAYS  # copies moved to other days of the window
    if provider in LINE_IDS:
        assert shape["ids"] == ROWS  # every line its own id
