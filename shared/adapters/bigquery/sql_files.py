"""Fill the ``{name}`` placeholders of the GoogleSQL files under ``procedures/``.

SQL for BigQuery lives in files; this is the one way values get into them. Identifiers are
validated (never quoted into shape) and values become literals, so a file can only ever
receive safe tokens. Braces that do not hold a bare name (JSON text, say) are left alone.
A placeholder may also be filled with another file under ``procedures/`` (``fragments``):
trusted SQL text from this repository, named by the code, never by a request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from shared import REPO_ROOT
from shared.domain.errors import BadRequest
from shared.domain.sql import literal, validate_identifier, validate_project_id

PROCEDURES_DIR = REPO_ROOT / "procedures"

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def render_sql(
    path: Path,
    *,
    identifiers: Mapping[str, str] | None = None,
    literals: Mapping[str, object] | None = None,
    identifier_lists: Mapping[str, Sequence[str]] | None = None,
    fragments: Mapping[str, str] | None = None,
) -> str:
    """The file's SQL with every placeholder filled.

    ``identifiers``: validated names (``project_id`` and ``*_project_id`` as GCP project
    ids, any other as a dataset/table/column name). ``literals``: values written with ``literal()``.
    ``identifier_lists``: comma-separated validated names (column lists). ``fragments``:
    the text of a ``.sql`` file given by its path relative to ``procedures/`` (a shared
    template's per-provider part); it is inlined first, so its own placeholders are filled
    like the file's. Raises BadRequest if the file has a placeholder with no value, or a
    value has no placeholder.
    """
    values: dict[str, str] = {}
    for name, value in (identifiers or {}).items():
        _put(values, name, _identifier(name, value))
    for name, items in (identifier_lists or {}).items():
        if not items:
            raise BadRequest(f"SQL placeholder {{{name}}} needs at least one name", field=name)
        _put(values, name, ", ".join(validate_identifier(item, name) for item in items))
    for name, raw in (literals or {}).items():
        _put(values, name, literal(raw))

    for name in (fragments or {}).keys() & values.keys():
        raise BadRequest(f"SQL placeholder {{{name}}} is given twice", field=name)
    text = include_fragments(path, fragments)
    wanted = set(_PLACEHOLDER.findall(text))
    missing, unknown = wanted - values.keys(), values.keys() - wanted
    if missing or unknown:
        raise BadRequest(
            f"{path.name}: placeholders without a value: {sorted(missing)}; "
            f"values without a placeholder: {sorted(unknown)}",
            file=str(path),
        )
    # One pass over the original text: a filled value is never scanned again.
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def include_fragments(path: Path, fragments: Mapping[str, str] | None) -> str:
    """The file's text with each fragment's text in place of its placeholder, the other
    placeholders left as they are. Raises BadRequest for a fragment the text has no
    placeholder for, or one that is not a .sql file under procedures/."""
    text = path.read_text(encoding="utf-8")
    if not fragments:
        return text
    inlined = {name: _fragment(name, file) for name, file in fragments.items()}
    unused = inlined.keys() - set(_PLACEHOLDER.findall(text))
    if unused:
        raise BadRequest(
            f"{path.name}: fragments without a placeholder: {sorted(unused)}", file=str(path)
        )
    # One pass: a fragment's text is not searched for fragment names again.
    return _PLACEHOLDER.sub(lambda m: inlined.get(m.group(1), m.group(0)), text)


def _fragment(name: str, file: str) -> str:
    """The text of ``procedures/<file>``: a ``.sql`` file inside that folder, nothing else."""
    candidate = (PROCEDURES_DIR / file).resolve()
    if (
        Path(file).is_absolute()
        or candidate.suffix != ".sql"
        or not candidate.is_relative_to(PROCEDURES_DIR)
        or not candidate.is_file()
    ):
        raise BadRequest(
            f"SQL fragment {{{name}}} must be a .sql file under procedures/, not {file!r}",
            field=name,
        )
    return candidate.read_text(encoding="utf-8").strip()


def _identifier(name: str, value: str) -> str:
    if name == "project_id" or name.endswith("_project_id"):  # e.g. a source project
        return validate_project_id(value)
    return validate_identifier(value, name)


def _put(values: dict[str, str], name: str, rendered: str) -> None:
    if name in values:
        raise BadRequest(f"SQL placeholder {{{name}}} is given twice", field=name)
    values[name] = rendered
