"""How a route is declared: the ``operation`` decorator registers a view on the Blueprint
and records what openapi.py documents (body and response models, query parameters,
statuses); ``org_key`` and ``root_key`` are the two credential checks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, ParamSpec, TypeVar, cast

import flask
from flask.typing import RouteCallable
from pydantic import BaseModel

from shared.handlers.access import authenticate_key, authenticate_root
from shared.handlers.dispatch import authenticate
from shared.handlers.services import Services

Security = Literal["ApiKey", "RootKey"]
P = ParamSpec("P")
R = TypeVar("R")

api = flask.Blueprint("api", __name__)


@dataclass(frozen=True, slots=True)
class Query:
    """A query parameter as the document shows it (the route reads it itself)."""

    name: str
    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True, slots=True)
class File:
    """A file download: its content types and the Content-Disposition it carries."""

    content: Mapping[str, Mapping[str, Any]]
    disposition: str


@dataclass(frozen=True, slots=True)
class Operation:
    endpoint: str
    method: str
    rule: str
    operation_id: str
    summary: str
    tag: str
    status: int
    answer: str  # the description of the success response
    response: type[BaseModel] | File | Mapping[str, Any]
    body: type[BaseModel] | None
    body_required: bool
    query: tuple[Query, ...]
    errors: frozenset[int]
    security: Security | None
    description: str | None


OPERATIONS: list[Operation] = []  # in the order declared; one per (method, rule)


def services() -> Services:
    """The Services of the app serving this request (app.py)."""
    provider: Callable[[], Services] = flask.current_app.extensions["pipelines.services"]
    return provider()


def org_key(view: Callable[..., R]) -> Callable[..., R]:
    """X-API-Key must be the key of the org in the path (``org``), or of any org when
    the path names none; the view gets that Org as ``org``."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> R:
        key = flask.request.headers.get("X-API-Key")
        slug = kwargs.pop("org", None)
        kwargs["org"] = (
            authenticate_key(services(), key)
            if slug is None
            else authenticate(services(), slug, key)
        )
        return view(*args, **kwargs)

    checked.security = "ApiKey"  # type: ignore[attr-defined]
    return checked


def root_key(view: Callable[P, R]) -> Callable[P, R]:
    """X-CA-Root-Key must be the operator's root key (503 when the server has none)."""

    @functools.wraps(view)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        authenticate_root(flask.request.headers.get("X-CA-Root-Key"))
        return view(*args, **kwargs)

    checked.security = "RootKey"  # type: ignore[attr-defined]
    return checked


def operation(
    method: str,
    rule: str,
    *,
    operation_id: str,
    summary: str,
    tag: str,
    answer: str,
    response: type[BaseModel] | File | Mapping[str, Any],
    status: int = 200,
    body: type[BaseModel] | None = None,
    body_required: bool = False,
    query: tuple[Query, ...] = (),
    errors: tuple[int, ...] = (),
    description: str | None = None,
    endpoint: str | None = None,
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Serve the view at ``rule`` for ``method`` (the endpoint is the view's name unless
    given) and record it for the document; a view may serve several rules. 500 is every
    operation's; a keyed one adds 401 (and 503 for the root key), one with a body 400
    and 413."""

    def register(view: Callable[..., R]) -> Callable[..., R]:
        name = endpoint or view.__name__
        security: Security | None = getattr(view, "security", None)
        codes = {500, *errors}
        if security is not None:
            codes.add(401)
        if security == "RootKey":
            codes.add(503)
        if body is not None:
            codes |= {400, 413}
        OPERATIONS.append(
            Operation(
                name,
                method,
                rule,
                operation_id,
                summary,
                tag,
                status,
                answer,
                response,
                body,
                body_required,
                query,
                frozenset(codes),
                security,
                description,
            )
        )
        # no automatic OPTIONS answer: a method not listed is a 405, as it always was
        api.add_url_rule(
            rule, name, cast(RouteCallable, view), methods=[method], provide_automatic_options=False
        )
        return view

    return register
