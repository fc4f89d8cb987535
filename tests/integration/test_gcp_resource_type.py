"""The GCP converter's ResourceType expression (procedures/cloud/gcp/resource_type.sql).

It replaced two extracts with a group behind '.+' (3x slower on the embedded warehouse) by
a match test and two short extracts; on every shape of name it must give what they gave.
The fragment's own text runs here, as the converter includes it.
"""

from __future__ import annotations

import pytest

from shared.adapters.bigquery.sql_files import PROCEDURES_DIR, include_fragments
from shared.adapters.bigquery.warehouse import BigQueryWarehouse
from shared.domain.sql import literal

pytestmark = pytest.mark.warehouse

# what the converter computed before, kept here as the reference
BEFORE = (
    r"CONCAT(REGEXP_EXTRACT(c.resource_global_name, r'^//([^/]+)/.+/[^/]+/[^/]+$'), '/',"
    r" REGEXP_EXTRACT(c.resource_global_name, r'^//[^/]+/.*?([^/]+)/[^/]+$'))"
)
NAMES = (
    "//compute.googleapis.com/projects/p/zones/z/instances/vm",
    "//storage.googleapis.com/projects/_/buckets/b",
    "//container.googleapis.com/projects/p/locations/l/clusters/c/nodePools/n",
    "//bigquery.googleapis.com/projects/p/datasets/d/tables/t",
    "//h/a/b/c",  # the shortest name with a type
    "//h/b/c",  # one segment short
    "//h//b/c",  # an empty segment where the first collection goes
    "//h/a//c",  # an empty collection
    "//h/a/b/",  # an empty id
    "///a/b/c",  # no host
    "h/a/b/c",  # not a full resource name
    "projects/p/instances/vm",
    "",
    "//h/a/b/c/d/e/f/g",
)


def test_resource_type_matches_the_two_extracts_it_replaced(
    session_warehouse: BigQueryWarehouse,
) -> None:
    fragment = include_fragments(PROCEDURES_DIR / "cloud/gcp/resource_type.sql")
    expression = fragment.strip().rsplit(" AS ResourceType", 1)[0]
    names = ", ".join(literal(n) for n in NAMES)
    rows = session_warehouse.query(
        f"SELECT c.resource_global_name AS name, {expression} AS after, {BEFORE} AS before"
        f" FROM (SELECT n AS resource_global_name FROM UNNEST([{names}, NULL]) AS n) AS c"
    )
    assert len(rows) == len(NAMES) + 1
    assert [r["name"] for r in rows if r["after"] != r["before"]] == []
    typed = {r["name"]: r["after"] for r in rows}
    assert typed[NAMES[0]] == "compute.googleapis.com/instances"
    assert typed[NAMES[2]] == "container.googleapis.com/nodePools"
    assert typed["//h/a/b/c"] == "h/b"
    assert [n for n in NAMES[5:13] if typed[n] is not None] == []
