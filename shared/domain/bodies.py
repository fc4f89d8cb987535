"""Checks shared by every JSON request body (and the CLI arguments that mirror them)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from shared.domain.errors import BadRequest, shown


def reject_unknown(
    body: Mapping[str, Any], allowed: Collection[str], *, what: str = "field(s) in body"
) -> None:
    """400 naming the first unexpected field (or query parameter, by ``what``): a typo must
    not be silently ignored."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:  # names cut to 80 characters: a 5,000-character key must not come back
        raise BadRequest(
            f"unknown {what}: {shown(', '.join(unknown), quote=False)}",
            field=shown(unknown[0], quote=False),
            allowed=sorted(allowed),
        )


def bool_field(body: Mapping[str, Any], name: str, *, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false", field=name)
    return value


def pipeline_ref(body: Mapping[str, Any], name: str = "pipeline") -> tuple[str, str, str]:
    return split_pipeline_ref(body.get(name), name)


def split_pipeline_ref(value: object, name: str = "pipeline") -> tuple[str, str, str]:
    """'provider/domain/pipeline' as its three non-empty parts (400 naming ``name``)."""
    parts = value.split("/") if isinstance(value, str) else []
    if len(parts) != 3 or not all(parts):
        raise BadRequest(
            f"{name} must be 'provider/domain/pipeline', got {shown(value)}", field=name
        )
    return parts[0], parts[1], parts[2]


def key_value_params(pairs: Sequence[str], option: str = "--param") -> dict[str, Any]:
    """Repeated KEY=VALUE command-line options as a parameters mapping."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BadRequest(f"{option} must be KEY=VALUE, got {pair!r}", field=option)
        params[key] = value
    return params
