"""Procedure files that include fragments through their "-- fragment" lines (no warehouse)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.adapters.bigquery import sql_files
from shared.domain.errors import BadRequest
from shared.domain.focus import FOCUS_1_3_COLUMNS, LINEAGE_COLUMN_NAMES
from shared.domain.genai import (
    COSTS_RAW_COLUMNS,
    UNIFIED_DAILY_COLUMNS,
    USAGE_DAILY_COLUMNS,
    USAGE_RAW_COLUMNS,
)
from shared.domain.saas_subscriptions import DAILY_COSTS_COLUMNS
from shared.handlers import procedures
from shared.handlers.procedures import procedure_file, procedure_files

SHARED_START = ("procedure_start", "common/procedure_start.sql")
SLICE = ("slice_filter", "common/slice_filter.sql")


def test_shipped_procedures_take_the_shared_start_and_slice_replace() -> None:
    found = {p.name: p for p in procedure_files()}
    # fragments and the shared cloud reconcile template are none
    cloud = {
        f"sp_cloud_{n}_{provider}"
        for n in ("1_convert_to_focus", "2_reconcile")
        for provider in ("gcp", "aws", "azure", "oci", "focus_export")
    }
    assert set(found) == cloud | {
        "sp_genai_0_gemini_from_gcp_billing",
        "sp_genai_1_consolidate_usage_daily",
        "sp_genai_3_convert_to_focus",
        "sp_genai_4_unify_providers_daily",
        "sp_subscription_2_calculate_daily_costs",
        "sp_subscription_3_convert_to_focus",
    }
    for name, p in found.items():
        sql = p.render("my-proj", "acme_prod")
        # a slice replace is a DELETE of the slice, then an INSERT (the executor's
        # transaction makes the pair atomic), never MERGE ... ON FALSE
        assert "MERGE `" not in sql, name
        if name not in cloud:
            deletes = re.findall(r"DELETE FROM `my-proj\.acme_prod\.(\w+)` WHERE x_org_slug", sql)
            inserts = re.findall(r"INSERT INTO `my-proj\.acme_prod\.(\w+)`", sql)
            assert deletes, name
            assert deletes == inserts, name  # the tables deleted from, in order, are inserted into
        if name == "sp_genai_3_convert_to_focus":  # its own signature (three more arguments)
            assert not p.named_by_file
            assert SHARED_START not in p.fragments
            assert SLICE in p.fragments
            continue
        assert p.named_by_file
        # the cloud ones take the shared start through a fragment of their own
        assert SHARED_START in p.fragments
        assert SLICE in p.fragments or name in cloud
        assert f"PROCEDURE `my-proj.acme_prod`.{name}(" in sql
        assert f"ERROR('{name}: every argument is required" in sql
        assert not re.search(r"\{[a-z_]+\}", sql)  # every placeholder filled

    gemini = found["sp_genai_0_gemini_from_gcp_billing"].render("my-proj", "acme_prod")
    # one classification file, read by both INSERTs
    assert gemini.count("FROM `my-proj.acme_prod.gcp_billing_export_raw` AS r") == 2
    assert gemini.count("DELETE FROM `my-proj.acme_prod.genai_payg_") == 2


def _names(fragment: str) -> list[str]:
    text = (sql_files.PROCEDURES_DIR / fragment).read_text()
    sql = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    return [name.strip() for name in sql.split(",")]


def test_the_column_list_fragments_are_the_domain_columns() -> None:
    assert _names("common/focus_columns.sql") == [c.name for c in FOCUS_1_3_COLUMNS]
    assert _names("common/lineage_columns.sql") == list(LINEAGE_COLUMN_NAMES)


def _select_names(sql: str) -> list[str]:
    """The name each item of a SELECT list gives its column (its alias, or the bare name)."""
    items, depth, current = [], 0, ""
    for char in sql:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return [item.split()[-1] for item in items]


def test_every_cloud_converter_selects_every_focus_column_by_name() -> None:
    # the SELECT list that rounds the native converters' decimals names the FOCUS columns
    text = (sql_files.PROCEDURES_DIR / "cloud/focus_from_float.sql").read_text()
    sql = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    assert _select_names(sql) == [c.name for c in FOCUS_1_3_COLUMNS]


def test_every_focus_converter_writes_every_focus_and_lineage_column_by_name() -> None:
    columns = ", ".join(c.name for c in FOCUS_1_3_COLUMNS)
    lineage = ", ".join(LINEAGE_COLUMN_NAMES)
    for p in procedure_files():
        if "convert_to_focus" not in p.name:
            continue
        lines = p.render("my-proj", "d").splitlines()
        sql = " ".join(" ".join(line.split("--", 1)[0] for line in lines).split())
        # the INSERT names them all, in order, and so does the SELECT that feeds it (the
        # native cloud converters select them through focus_from_float.sql)
        assert sql.count(f"( {columns}, ") == 1, p.name
        assert sql.count(lineage) == 2, p.name


def test_the_table_column_list_fragments_are_the_domain_columns() -> None:
    for fragment, columns in (
        ("genai/usage_raw_columns.sql", USAGE_RAW_COLUMNS),
        ("genai/costs_raw_columns.sql", COSTS_RAW_COLUMNS),
        ("genai/usage_daily_columns.sql", USAGE_DAILY_COLUMNS),
        ("genai/unified_daily_columns.sql", UNIFIED_DAILY_COLUMNS),
        ("subscription/costs_daily_columns.sql", DAILY_COSTS_COLUMNS),
    ):
        sql = sql_files.include_fragments(sql_files.PROCEDURES_DIR / fragment)
        sql = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
        assert [n.strip() for n in sql.split(",")] == [c.name for c in columns], fragment


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A procedures/ folder of its own, with the shared start as its one fragment."""
    monkeypatch.setattr(sql_files, "PROCEDURES_DIR", tmp_path)
    monkeypatch.setattr(procedures, "PROCEDURES_DIR", tmp_path)
    (tmp_path / "start.sql").write_text(
        "CREATE OR REPLACE PROCEDURE `{project_id}.{dataset}`.{procedure}(p INT64)\nBEGIN\n"
    )
    return tmp_path


def test_a_procedure_named_by_its_file_renders_with_its_fragment(tree: Path) -> None:
    (tree / "sp_x.sql").write_text("-- fragment start: start.sql\n{start}\n  SELECT p;\nEND;\n")
    (p,) = procedure_files()
    assert (p.name, p.named_by_file, p.fragments) == ("sp_x", True, (("start", "start.sql"),))
    assert p.render("my-proj", "d").startswith("-- fragment start: start.sql\n")
    assert "PROCEDURE `my-proj.d`.sp_x(p INT64)\nBEGIN\n  SELECT p;" in p.render("my-proj", "d")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("-- fragment start: start.sql\n-- fragment start: start.sql\n{start}\n", "more than once"),
        ("-- fragment start: start.sql\n-- fragment more: start.sql\n{start}\n", "without a"),
        ("-- fragment start: ../start.sql\n{start}\n", r"must be a \.sql file under procedures/"),
        ("{start}\nEND;\n", "must create exactly one procedure"),  # named in no fragment line
    ],
)
def test_a_fragment_line_must_be_unique_used_and_under_procedures(
    tree: Path, text: str, error: str
) -> None:
    (tree / "sp_x.sql").write_text(text)
    with pytest.raises(BadRequest, match=error):
        procedure_file("sp_x.sql")


def test_a_fragment_names_its_own_fragments(tree: Path) -> None:
    (tree / "filter.sql").write_text("-- rows of p\np = {value}")
    (tree / "body.sql").write_text("-- fragment filter: filter.sql\n  SELECT 1 WHERE {filter};")
    (tree / "sp_x.sql").write_text(
        "-- fragment start: start.sql\n-- fragment body: body.sql\n{start}\n{body}\n"
        "  SELECT 2 WHERE {filter};\nEND;\n"
    )
    p = procedure_file("sp_x.sql")
    assert p.fragments == (
        ("start", "start.sql"),
        ("body", "body.sql"),
        ("filter", "filter.sql"),
    )
    sql = sql_files.include_fragments(tree / "sp_x.sql")
    # a fragment's header (its opening comment lines) is not inlined
    assert "BEGIN\nSELECT 1 WHERE p = {value};\n  SELECT 2 WHERE p = {value};\nEND;" in sql


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ({"a.sql": "-- fragment b: b.sql\n{b}", "b.sql": "-- fragment a: a.sql\n{a}"}, "itself"),
        ({"a.sql": "-- fragment b: b.sql\n{b}", "b.sql": "-- fragment a: c.sql\nx"}, "both"),
    ],
)
def test_a_fragment_may_not_include_itself_or_rebind_a_name(
    tree: Path, files: dict[str, str], error: str
) -> None:
    (tree / "c.sql").write_text("c")
    for name, text in files.items():
        (tree / name).write_text(text)
    (tree / "sp_x.sql").write_text(
        "-- fragment a: a.sql\n-- fragment start: start.sql\n{start}\n{a}\n"
    )
    with pytest.raises(BadRequest, match=error):
        procedure_file("sp_x.sql")
