"""How an output table is laid out on BigQuery: partitioned by day, clustered by lineage.

Every write the engine makes replaces a lineage slice (org, pipeline, credential, usage
days: procedures/common/slice_filter.sql, the DELETE of every genai and subscription
procedure's replace; the engine's replace_slice.sql), and every late-row lookup,
reconciliation and report reads days of it. Partitioning on ``x_pipeline_run_date`` --
the usage day each of those statements filters on -- lets BigQuery read only the run's
days, not the table's history; clustering on the rest of the key (the org is the
dataset's only one) narrows the blocks inside a day. docs/COST_MODEL.md derives what that
saves.

Not ``x_ingestion_date``: rows of one usage day are re-ingested on later days (late rows,
re-runs, backfills), so a replace filtered on usage days would scan every ingestion
partition. ``x_ingestion_date`` is written on every row for the clients' own queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.domain.columns import Column

PARTITION_COLUMN = "x_pipeline_run_date"
# BigQuery takes at most four clustering columns; x_org_slug is constant in an org dataset.
CLUSTER_COLUMNS = ("x_pipeline_id", "x_credential_id", "x_run_id")


@dataclass(frozen=True, slots=True)
class TableLayout:
    partition_by: str | None  # a DATE column, one partition per day
    cluster_by: tuple[str, ...]


def layout_for(columns: Sequence[Column]) -> TableLayout:
    """The layout of a table with ``columns``: a lineage table is partitioned and
    clustered; any other (plans, meta tables, bookkeeping) is left as a plain table."""
    names = {c.name for c in columns}
    if PARTITION_COLUMN not in names:
        return TableLayout(None, ())
    return TableLayout(PARTITION_COLUMN, tuple(c for c in CLUSTER_COLUMNS if c in names))
