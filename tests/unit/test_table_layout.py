"""Every table the pipelines write is partitioned by usage day and clustered by lineage."""

from __future__ import annotations

import re

from shared.adapters.bigquery.sql_files import PROCEDURES_DIR, include_fragments
from shared.config.tables import ORG_TABLES
from shared.domain.cloud_billing import AWS_RAW_COLUMNS, AZURE_RAW_COLUMNS, OCI_RAW_COLUMNS
from shared.domain.columns import Column
from shared.domain.focus import COST_TABLE, LINEAGE_COLUMNS
from shared.domain.saas_subscriptions import PLANS_TABLE
from shared.domain.table_layout import CLUSTER_COLUMNS, PARTITION_COLUMN, layout_for


def test_every_output_table_is_partitioned_and_clustered() -> None:
    written = {t: c for t, c in ORG_TABLES.items() if t != PLANS_TABLE}  # plans: user input
    written |= {"aws": AWS_RAW_COLUMNS, "azure": AZURE_RAW_COLUMNS, "oci": OCI_RAW_COLUMNS}
    assert COST_TABLE in written
    for table, columns in written.items():
        layout = layout_for(columns)
        assert layout.partition_by == PARTITION_COLUMN, table
        assert layout.cluster_by == CLUSTER_COLUMNS, table


def test_a_table_without_lineage_is_left_plain() -> None:
    assert layout_for(ORG_TABLES[PLANS_TABLE]).partition_by is None
    layout = layout_for((Column("item", "STRING"), Column("x_pipeline_run_date", "DATE")))
    assert (layout.partition_by, layout.cluster_by) == (PARTITION_COLUMN, ())


def test_the_partition_column_is_the_slice_day_of_the_lineage() -> None:
    names = [c.name for c in LINEAGE_COLUMNS]
    assert PARTITION_COLUMN in names
    assert set(CLUSTER_COLUMNS) <= set(names)
    assert next(c for c in LINEAGE_COLUMNS if c.name == PARTITION_COLUMN).type == "DATE"


DYNAMIC_DAY_FILTER = re.compile(r"x_pipeline_run_date\s+IN\s*\(\s*(SELECT|WITH)\b", re.I)


def test_slice_replaces_filter_the_partition_column_on_constants() -> None:
    """BigQuery prunes partitions only by constant filters (literals, script variables):
    a day list computed by a subquery inside the DELETE would scan every partition."""
    checked = 0
    for path in sorted(PROCEDURES_DIR.rglob("*.sql")):
        name = str(path.relative_to(PROCEDURES_DIR))
        sql = include_fragments(path)
        if "x_pipeline_run_date" not in sql:
            continue
        checked += 1
        assert not DYNAMIC_DAY_FILTER.search(sql), name
    assert checked > 10
