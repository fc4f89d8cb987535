"""Org API keys: shown once, stored only as a SHA-256 hash, compared in constant time.

A key is 256 random bits, so a plain (unsalted) SHA-256 is enough: there is
nothing to brute-force that a slow hash would protect.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_api_key(org_slug: str) -> str:
    return f"pk_{org_slug}_{secrets.token_urlsafe(32)}"


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_matches(key: str | None, stored_hash: str) -> bool:
    if not key:
        return False
    return hmac.compare_digest(hash_api_key(key), stored_hash)
