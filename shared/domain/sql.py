"""Safe SQL pieces: identifiers are validated (never escaped into shape), literals quoted.

The bqemulator does not accept query parameters inside scripts or CALL, and the
production SQL must be the same, so scripts carry values as literals built here.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from shared.domain.errors import BadRequest

# org slugs: lowercase start, then lowercase/digits/underscore; short enough for dataset names.
ORG_SLUG_RE = re.compile(r"^[a-z][a-z0-9_]{2,49}$")
# BigQuery dataset/table/routine names we create: letters, digits, underscore.
IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")
# GCP project ids (6-30 chars) plus the emulator's short local ids.
PROJECT_ID_RE = re.compile(r"^[a-z][a-z0-9-]{1,29}$")


def validate_org_slug(value: str) -> str:
    if not isinstance(value, str) or not ORG_SLUG_RE.fullmatch(value):
        raise BadRequest(
            "org_slug must be 3-50 characters: a lowercase letter, then lowercase letters, "
            "digits or underscores",
            field="org_slug",
        )
    return value


def validate_identifier(value: str, what: str = "identifier") -> str:
    if not isinstance(value, str) or not IDENTIFIER_RE.fullmatch(value):
        raise BadRequest(
            f"{what} must be letters, digits and underscores, starting with a letter or underscore",
            field=what,
        )
    return value


def validate_project_id(value: str) -> str:
    if not isinstance(value, str) or not PROJECT_ID_RE.fullmatch(value):
        raise BadRequest("project_id is not a valid GCP project id", field="project_id")
    return value


def table_ref(project_id: str, dataset: str, name: str) -> str:
    """A fully-qualified, back-quoted ``project.dataset.name`` from validated parts."""
    validate_project_id(project_id)
    validate_identifier(dataset, "dataset")
    validate_identifier(name, "table")
    return f"`{project_id}.{dataset}.{name}`"


def literal(value: object) -> str:
    """A GoogleSQL literal for a Python value (str, int, Decimal, date, datetime, bool, None)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise BadRequest(f"cannot write non-finite number {value} as SQL")
        return f"NUMERIC '{value}'"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise BadRequest(f"cannot write non-finite number {value} as SQL")
        return repr(value)
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat()}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return _string_literal(value)
    raise BadRequest(f"cannot write a {type(value).__name__} as a SQL literal")


def _string_literal(value: str) -> str:
    # Escape the backslash first, then quotes and control characters: the result is one
    # single-quoted token whatever the input holds.
    escaped = (
        value.replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
        .replace("\x00", "")
    )
    return f"'{escaped}'"
