"""Procedure files that include fragments through their "-- fragment" lines (no warehouse)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.adapters.bigquery import sql_files
from shared.domain.errors import BadRequest
from shared.handlers import procedures
from shared.handlers.procedures import procedure_file, procedure_files

SHARED_START = ("procedure_start", "common/procedure_start.sql")
SLICE = ("delete_run_slice", "common/delete_run_slice.sql")


def test_shipped_procedures_take_the_shared_start_and_slice_replace() -> None:
    found = {p.name: p for p in procedure_files()}
    # the same procedures as before the fragments; fragments and cloud templates are none
    assert set(found) == {
        "sp_genai_0_gemini_from_gcp_billing",
        "sp_genai_1_consolidate_usage_daily",
        "sp_genai_3_convert_to_focus",
        "sp_subscription_2_calculate_daily_costs",
        "sp_subscription_3_convert_to_focus",
    }
    for name, p in found.items():
        sql = p.render("my-proj", "acme_prod")
        assert sql.count("THEN DELETE") == sql.count("MERGE `my-proj.acme_prod.")
        if name == "sp_genai_3_convert_to_focus":  # its own signature (three more arguments)
            assert not p.named_by_file
            assert SHARED_START not in p.fragments
            assert SLICE in p.fragments
            continue
        assert p.named_by_file
        assert {SHARED_START, SLICE} <= set(p.fragments)
        assert f"PROCEDURE `my-proj.acme_prod`.{name}(" in sql
        assert f"ERROR('{name}: every argument is required" in sql

    gemini = found["sp_genai_0_gemini_from_gcp_billing"].render("my-proj", "acme_prod")
    # one classification file, read by both MERGEs
    assert gemini.count("FROM `my-proj.acme_prod.gcp_billing_export_raw` AS r") == 2
    assert gemini.count("THEN DELETE") == 2


def test_a_fragment_is_not_a_procedure() -> None:
    with pytest.raises(BadRequest, match="must create exactly one procedure"):
        procedure_file("common/procedure_start.sql")


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
