"""Template resolution for step configs: ``{{ var }}`` and ``${var}``.

Strict by design: an unknown variable, a malformed expression or an unclosed
marker is an error, never left in the output, because resolved values end up in
SQL and API calls. Substituted values are not re-scanned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from shared.domain.errors import BadRequest, TemplateError
from shared.domain.sql import validate_identifier, validate_org_slug, validate_project_id

_OPENER = re.compile(r"\{\{|\$\{")
_CLOSER = {"{{": "}}", "${": "}"}
_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*")
# env is part of dataset names (org_dataset): keep it short and identifier-safe.
_ENV_RE = re.compile(r"^[a-z][a-z0-9]{0,9}$")


def resolve(value: Any, variables: Mapping[str, str], *, path: str = "") -> Any:
    """``value`` with every template in its strings replaced; dicts and lists recursed.

    Non-string leaves (and dict keys) are returned untouched. ``path`` names where
    ``value`` sits, for error messages: ``resolve({"config": step.config}, v)`` reports
    ``config.sql_args.start``.
    """
    if isinstance(value, str):
        return _render(value, variables, path or "<value>")
    if isinstance(value, dict):
        return {
            k: resolve(v, variables, path=f"{path}.{k}" if path else str(k))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [resolve(v, variables, path=f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _render(text: str, variables: Mapping[str, str], path: str) -> str:
    out: list[str] = []
    pos = 0
    while match := _OPENER.search(text, pos):
        opener = match.group()
        end = text.find(_CLOSER[opener], match.end())
        if end < 0:
            raise TemplateError(
                f"unterminated '{opener}' at {path} (position {match.start()})", path=path
            )
        expression = text[match.start() : end + len(_CLOSER[opener])]
        name_match = _NAME.fullmatch(text, match.end(), end)
        if name_match is None:
            raise TemplateError(f"invalid template expression {expression!r} at {path}", path=path)
        name = name_match.group(1)
        if name not in variables:
            raise TemplateError(
                f"unknown template variable '{name}' at {path}; "
                f"known: {', '.join(sorted(variables))}",
                path=path,
                variable=name,
            )
        out += (text[pos : match.start()], variables[name])
        pos = end + len(_CLOSER[opener])
    out.append(text[pos:])
    return "".join(out)


def build_variables(
    *,
    org_slug: str,
    env: str,
    project_id: str,
    start_date: date,
    end_date: date,
    run_id: str,
    pipeline_id: str,
    credential_id: str,
) -> dict[str, str]:
    """The variables every step config may use.

    ``date`` is the run's end date. Values that become SQL identifiers are
    validated here, so a bad one is refused rather than spliced into SQL.
    """
    validate_org_slug(org_slug)
    if not isinstance(env, str) or not _ENV_RE.fullmatch(env):
        raise BadRequest(
            "env must be 1-10 characters: a lowercase letter, then lowercase letters or digits",
            field="env",
        )
    org_dataset = validate_identifier(f"{org_slug}_{env}", "org_dataset")
    validate_project_id(project_id)
    if start_date > end_date:
        raise BadRequest(
            f"start_date {start_date} is after end_date {end_date}", field="start_date"
        )
    return {
        "org_slug": org_slug,
        "env": env,
        "project_id": project_id,
        "org_dataset": org_dataset,
        "date": end_date.isoformat(),
        "yesterday": (end_date - timedelta(days=1)).isoformat(),
        "start_date": start_date.isoformat(),
        "end_date": end_date.isoformat(),
        "year": f"{end_date.year:04d}",
        "month": f"{end_date.month:02d}",
        "day": f"{end_date.day:02d}",
        "run_id": run_id,
        "pipeline_id": pipeline_id,
        "credential_id": credential_id,
    }
