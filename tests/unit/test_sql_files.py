"""render_sql: the one way values get into the SQL files under procedures/."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shared.adapters.bigquery.sql_files import PROCEDURES_DIR, include_fragments, render_sql
from shared.domain.errors import BadRequest
from shared.handlers.procedures import procedure_file, procedure_files


@pytest.fixture
def sql_file(tmp_path: Path) -> Path:
    path = tmp_path / "q.sql"
    path.write_text(
        "SELECT {columns} FROM `{project_id}.{dataset}.t`\n"
        "WHERE d = {day} AND s = {name} AND j = '{\"k\": 1}';\n"
    )
    return path


IDENTIFIERS = {"project_id": "my-proj", "dataset": "acme_prod"}
LITERALS: dict[str, object] = {"day": date(2025, 3, 1), "name": "it's {dataset}"}
LISTS = {"columns": ["a", "b"]}


def test_fills_identifiers_literals_and_lists(sql_file: Path) -> None:
    sql = render_sql(sql_file, identifiers=IDENTIFIERS, literals=LITERALS, identifier_lists=LISTS)
    # A value is never scanned for placeholders, and braces around non-names are left alone.
    assert sql == (
        "SELECT a, b FROM `my-proj.acme_prod.t`\n"
        "WHERE d = DATE '2025-03-01' AND s = 'it\\'s {dataset}' AND j = '{\"k\": 1}';\n"
    )


@pytest.mark.parametrize(
    ("identifiers", "literals", "lists"),
    [
        (IDENTIFIERS, {"day": date(2025, 3, 1)}, LISTS),  # {name} left unfilled
        ({**IDENTIFIERS, "extra": "x"}, LITERALS, LISTS),  # a value with no placeholder
        ({"project_id": "my-proj", "dataset": "bad-name"}, LITERALS, LISTS),
        ({"project_id": "My_Proj", "dataset": "d"}, LITERALS, LISTS),
        (IDENTIFIERS, LITERALS, {"columns": ["a", "b; DROP TABLE x"]}),
        (IDENTIFIERS, LITERALS, {"columns": []}),
        (IDENTIFIERS, {**LITERALS, "dataset": "twice"}, LISTS),
    ],
)
def test_rejects_missing_unknown_and_unsafe_values(
    sql_file: Path,
    identifiers: dict[str, str],
    literals: dict[str, object],
    lists: dict[str, list[str]],
) -> None:
    with pytest.raises(BadRequest):
        render_sql(sql_file, identifiers=identifiers, literals=literals, identifier_lists=lists)


def test_every_shipped_sql_file_renders() -> None:
    # as the executor renders them: with the fragments each file names in its "-- fragment" lines
    for p in procedure_files():
        assert "`my-proj.acme_prod`." in p.render("my-proj", "acme_prod")
    # and every other file's fragments resolve (its own placeholders left for its caller)
    for path in sorted(PROCEDURES_DIR.rglob("*.sql")):
        include_fragments(path)


def test_fragments_inline_trusted_procedure_files_and_fill_their_placeholders(
    tmp_path: Path,
) -> None:
    template = tmp_path / "t.sql"
    template.write_text("SELECT * FROM\n{source_totals} AS s WHERE n = {name};\n")
    fragment = "cloud/gcp/reconcile_source_totals_gcp.sql"
    sql = render_sql(
        template,
        identifiers=IDENTIFIERS,
        literals={"name": "{source_totals}"},
        fragments={"source_totals": fragment},
    )
    # the fragment's own placeholders are filled; a literal is never scanned for fragments
    assert "`my-proj.acme_prod.gcp_billing_export_raw`" in sql
    assert "{project_id}" not in sql
    assert sql.endswith(" AS s WHERE n = '{source_totals}';\n")


@pytest.mark.parametrize(
    "file",
    [
        "../shared/x.sql",  # outside procedures/
        "/etc/passwd",
        "cloud/gcp/missing.sql",
        "cloud/../../pyproject.toml",
        "cloud/gcp",  # a folder
    ],
)
def test_a_fragment_must_be_a_sql_file_under_procedures(tmp_path: Path, file: str) -> None:
    template = tmp_path / "t.sql"
    template.write_text("SELECT 1 FROM {part};\n")
    with pytest.raises(BadRequest, match=r"must be a \.sql file under procedures/"):
        render_sql(template, fragments={"part": file})


def test_a_fragment_without_placeholder_or_given_twice_is_refused(tmp_path: Path) -> None:
    template = tmp_path / "t.sql"
    template.write_text("SELECT 1 FROM `{project_id}.{dataset}.t`;\n")
    part = "cloud/run_days.sql"
    with pytest.raises(BadRequest, match="fragments without a placeholder"):
        render_sql(template, identifiers=IDENTIFIERS, fragments={"part": part})
    with pytest.raises(BadRequest, match="given twice"):
        render_sql(template, identifiers=IDENTIFIERS, fragments={"dataset": part})


def test_every_cloud_procedure_renders_from_its_files_and_the_shared_fragments() -> None:
    for provider in ("gcp", "aws", "azure", "oci", "focus_export"):
        convert = procedure_file(f"cloud/{provider}/sp_cloud_1_convert_to_focus_{provider}.sql")
        sql = convert.render("my-proj", "acme_prod")
        assert f"`my-proj.acme_prod`.{convert.name}(" in sql
        assert f"ERROR('{convert.name}: every argument is required" in sql
        # the run's slice of the FOCUS table itself, on the window and the late days
        assert "DELETE FROM `my-proj.acme_prod.cost_data_standard_1_3`\n" in sql
        assert "INSERT INTO `my-proj.acme_prod.cost_data_standard_1_3` (" in sql
        assert "_staging" not in sql
        late = "DEFAULT IFNULL((" if provider == "gcp" else "DEFAULT [];"
        assert f"DECLARE late_days ARRAY<DATE> {late}" in sql
        # the FOCUS rules on the way in (the former publish's conform step)
        assert "IF(ChargeCategory = 'Tax', NULL, SkuId) AS SkuId" in sql
        # every FOCUS 1.3 and lineage column, by name, from the converter's rows
        assert "AllocatedMethodDetails, AllocatedMethodId," in sql
        assert "x_org_slug, x_pipeline_id, x_credential_id, x_pipeline_run_date" in sql
        assert ("SAFE_DIVIDE(CAST(ROUND(BilledCost * 1e9)" in sql) == (provider != "focus_export")


def test_every_cloud_reconcile_renders_from_the_shared_template() -> None:
    for provider in ("gcp", "aws", "azure", "oci", "focus_export"):
        reconcile = procedure_file(f"cloud/{provider}/sp_cloud_2_reconcile_{provider}.sql")
        assert reconcile.name == f"sp_cloud_2_reconcile_{provider}"
        sql = reconcile.render("my-proj", "acme_prod")
        assert f"`my-proj.acme_prod`.sp_cloud_2_reconcile_{provider}(" in sql
        assert "COALESCE(s.source_system, f.source_system) AS x_source_system" in sql
        source = "MIN(x_source_system)" if provider == "focus_export" else f"'{provider}'"
        assert f"{source} AS source_system" in sql
