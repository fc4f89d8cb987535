"""Fill the ``{name}`` placeholders of the GoogleSQL files under ``procedures/``.

SQL for BigQuery lives in files; this is the one way values get into them. Identifiers are
validated (never quoted into shape) and values become literals, so a file can only ever
receive safe tokens. Braces that do not hold a bare name (JSON text, say) are left alone.
A placeholder may also be filled with another file under ``procedures/`` (a fragment):
trusted SQL text from this repository, named by the file itself in a ``-- fragment`` line
(or by the code), never by a request.
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
# How a file names a file it includes: "-- fragment <placeholder>: <path under procedures/>",
# e.g. "-- fragment procedure_start: common/procedure_start.sql". The file says what it
# includes, so every caller (executor, step, sync, list) renders the same SQL. A fragment
# may name fragments of its own the same way. Its text is inlined without its header (the
# comment lines it opens with: its documentation, which the emulator would otherwise
# translate again on every CALL) and ends with SQL, not a comment, as the including text
# may go on on the same line.
_FRAGMENT_LINE = re.compile(r"^--\s*fragment\s+([a-z_][a-z0-9_]*)\s*:\s*(\S+)\s*$", re.MULTILINE)


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
    ``identifier_lists``: comma-separated validated names (column lists). Fragments, the
    text of ``.sql`` files given by their paths relative to ``procedures/``, are inlined
    first, so their own placeholders are filled like the file's: those the file's
    ``-- fragment`` lines name (and theirs), and ``fragments`` (a shared template's
    per-provider part chosen by the code). Raises BadRequest if the file has a placeholder
    with no value, or a value has no placeholder.
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


def declared_fragments(
    path: Path, fragments: Mapping[str, str] | None = None
) -> tuple[tuple[str, str], ...]:
    """(placeholder, path under procedures/) of every fragment the file includes: its own
    "-- fragment" lines, then ``fragments``, then the lines of each file those name, and so
    on (each file read once). Raises BadRequest for a placeholder named twice in one file,
    one bound to two different files, or a fragment that is not a .sql file under
    procedures/."""
    found: dict[str, str] = {}
    pending = [*_fragment_lines(path), *(fragments or {}).items()]
    read: set[str] = set()
    while pending:
        name, file = pending.pop(0)
        if found.setdefault(name, file) != file:
            raise BadRequest(
                f"{path.name}: fragment {{{name}}} names both {found[name]} and {file}",
                file=str(path),
            )
        if file not in read:
            read.add(file)
            pending.extend(_fragment_lines(_fragment_path(name, file)))
    return tuple(found.items())


def include_fragments(path: Path, fragments: Mapping[str, str] | None = None) -> str:
    """The file's text with each fragment's text (:func:`declared_fragments`) in place of its
    placeholder, wherever it stands (in the file or in another fragment), the other
    placeholders left as they are. Raises BadRequest for a fragment no text has a
    placeholder for, or one that includes itself."""
    text = path.read_text(encoding="utf-8")
    inlined = {
        name: _without_header(_fragment_path(name, file).read_text(encoding="utf-8"))
        for name, file in declared_fragments(path, fragments)
    }
    if not inlined:
        return text
    used: set[str] = set()

    def expand(part: str, within: tuple[str, ...]) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in inlined:
                return match.group(0)
            if name in within:
                raise BadRequest(
                    f"{path.name}: fragment {{{name}}} includes itself", file=str(path)
                )
            used.add(name)
            return expand(inlined[name], (*within, name))

        return _PLACEHOLDER.sub(fill, part)

    # A fragment's text is searched for fragment names only: values come later, in one pass.
    text = expand(text, ())
    unused = inlined.keys() - used
    if unused:
        raise BadRequest(
            f"{path.name}: fragments without a placeholder: {sorted(unused)}", file=str(path)
        )
    return text


def _without_header(text: str) -> str:
    """A fragment's SQL: its text less the comment (and blank) lines it opens with."""
    lines = text.strip().splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    return "\n".join(lines).strip()


def _fragment_lines(path: Path) -> list[tuple[str, str]]:
    """The "-- fragment <placeholder>: <file>" lines of one file, in order."""
    found = _FRAGMENT_LINE.findall(path.read_text(encoding="utf-8"))
    names = [name for name, _ in found]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise BadRequest(f"{path.name} names fragment(s) {repeated} more than once", file=str(path))
    return found


def _fragment_path(name: str, file: str) -> Path:
    """``procedures/<file>``: a ``.sql`` file inside that folder, nothing else."""
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
    return candidate


def _identifier(name: str, value: str) -> str:
    if name == "project_id" or name.endswith("_project_id"):  # e.g. a source project
        return validate_project_id(value)
    return validate_identifier(value, name)


def _put(values: dict[str, str], name: str, rendered: str) -> None:
    if name in values:
        raise BadRequest(f"SQL placeholder {{{name}}} is given twice", field=name)
    values[name] = rendered
