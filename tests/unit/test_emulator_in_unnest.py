"""The embedded warehouse's rewrite of ``x IN UNNEST(array)`` filters (no warehouse: the rule
on sqlglot's DuckDB trees; tests/integration/test_embedded_warehouse.py runs it)."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from shared.adapters.bigquery.emulator import in_unnest_as_list_contains


def rewritten(bigquery_sql: str) -> str | None:
    duckdb_sql = sqlglot.transpile(bigquery_sql, read="bigquery", write="duckdb")[0]
    node = sqlglot.parse_one(duckdb_sql, read="duckdb").find(exp.In)
    replacement = in_unnest_as_list_contains(node)
    return None if replacement is None else replacement.sql("duckdb")


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1 FROM t WHERE DATE(a) IN UNNEST(days)", "LIST_CONTAINS(days, CAST(a AS DATE))"),
        ("SELECT 1 FROM t WHERE b = 1 AND (d IN UNNEST(?) OR e)", "LIST_CONTAINS(?, d)"),
        (
            "DELETE FROM t WHERE d BETWEEN x AND y OR d IN UNNEST([DATE '2026-10-01'])",
            "LIST_CONTAINS([CAST('2026-10-01' AS DATE)], d)",
        ),
    ],
)
def test_a_filter_in_unnest_becomes_list_contains(sql: str, expected: str) -> None:
    assert rewritten(sql) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1 FROM t WHERE NOT d IN UNNEST(days)",  # NOT NULL keeps no row, NOT false does
        "SELECT d IN UNNEST(days) AS hit FROM t",  # NULL and false are both seen
        "SELECT 1 FROM t WHERE IF(d IN UNNEST(days), 0, 1) = 1",
        "SELECT 1 FROM t WHERE d IN (SELECT x FROM u)",  # a real subquery
        "SELECT 1 FROM t WHERE d IN (1, 2)",
    ],
)
def test_where_null_and_false_differ_the_in_stays(sql: str) -> None:
    assert rewritten(sql) is None
