"""Who is calling: an org by its API key alone, or the operator by the root key."""

from __future__ import annotations

import hashlib
import hmac
import os

from shared.domain.errors import DependencyUnavailable, Unauthorized
from shared.domain.models import Org
from shared.domain.sql import ORG_SLUG_RE
from shared.handlers.dispatch import authenticate
from shared.handlers.services import Services

ROOT_KEY_ENV = "PIPELINES_ROOT_KEY"
# new_api_key: "pk_" + org_slug + "_" + token_urlsafe(32), and that token is 43 characters.
_TOKEN_CHARS = 43


def org_slug_of_key(api_key: str | None) -> str | None:
    """The org a key was issued to, read from its layout (the hash still decides)."""
    if not api_key or not api_key.startswith("pk_") or len(api_key) < 3 + 3 + 1 + _TOKEN_CHARS:
        return None
    slug, sep = api_key[3 : -_TOKEN_CHARS - 1], api_key[-_TOKEN_CHARS - 1]
    return slug if sep == "_" and ORG_SLUG_RE.fullmatch(slug) else None


def authenticate_key(services: Services, api_key: str | None) -> Org:
    """The key's own org, for endpoints whose path names no org (401 if unknown)."""
    slug = org_slug_of_key(api_key)
    if slug is None:
        raise Unauthorized("invalid API key")
    return authenticate(services, slug, api_key)


def authenticate_root(given: str | None) -> None:
    """Admin endpoints: X-CA-Root-Key must equal $PIPELINES_ROOT_KEY.

    Both sides are hashed first, so the constant-time compare does not leak the
    key's length either.
    """
    expected = os.environ.get(ROOT_KEY_ENV, "")
    if not expected:
        raise DependencyUnavailable(
            f"admin endpoints are disabled: {ROOT_KEY_ENV} is not configured on the server"
        )
    digest = hashlib.sha256((given or "").encode()).digest()
    if not given or not hmac.compare_digest(digest, hashlib.sha256(expected.encode()).digest()):
        raise Unauthorized("invalid root key (X-CA-Root-Key)")
