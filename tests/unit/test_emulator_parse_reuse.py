"""The embedded warehouse's reuse of sqlglot parses: same trees, never shared."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from shared.adapters.bigquery.emulator import _reuse_sql_parses

SQL = "INSERT INTO t (a) SELECT a FROM s WHERE b = 1"


def test_each_parse_of_a_text_is_an_equal_tree_of_its_own() -> None:
    _reuse_sql_parses()
    _reuse_sql_parses()  # applied once however often the emulator starts
    first = sqlglot.parse_one(SQL, read="bigquery")
    where = first.find(exp.Where)
    assert where is not None
    where.set("this", exp.condition("b = 2"))  # a pass rewrites its tree
    second = sqlglot.parse_one(SQL, read="bigquery")
    assert second is not first
    assert second.sql("bigquery") == SQL  # the earlier caller's change did not leak
    assert second == sqlglot.parse_one(SQL, read="bigquery")


def test_a_text_that_does_not_parse_fails_every_time() -> None:
    _reuse_sql_parses()
    for _ in range(2):  # errors are not kept as results
        with pytest.raises(sqlglot.errors.ParseError):
            sqlglot.parse_one("SELECT (1", read="bigquery")
