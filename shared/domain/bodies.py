"""Checks shared by every JSON request body."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from shared.domain.errors import BadRequest


def reject_unknown(body: Mapping[str, Any], allowed: Collection[str]) -> None:
    """400 naming the first unexpected field: a typo must not be silently ignored."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadRequest(
            f"unknown field(s) in body: {', '.join(unknown)}",
            field=unknown[0],
            allowed=sorted(allowed),
        )


def bool_field(body: Mapping[str, Any], name: str, *, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false", field=name)
    return value


def pipeline_ref(body: Mapping[str, Any], name: str = "pipeline") -> tuple[str, str, str]:
    value = body.get(name)
    parts = value.split("/") if isinstance(value, str) else []
    if len(parts) != 3 or not all(parts):
        raise BadRequest(f"{name} must be 'provider/domain/pipeline'", field=name)
    return parts[0], parts[1], parts[2]
