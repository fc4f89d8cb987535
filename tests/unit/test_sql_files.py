"""render_sql: the one way values get into the SQL files under procedures/."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shared.adapters.sql_files import PROCEDURES_DIR, render_sql
from shared.domain.errors import BadRequest


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
    for path in sorted((PROCEDURES_DIR / "subscription").glob("*.sql")):
        sql = render_sql(path, identifiers={"project_id": "my-proj", "dataset": "acme_prod"})
        assert "`my-proj.acme_prod`." in sql
