"""Provider credentials: records, validation and the rules that pick a run's credential.

Pure: no I/O. The secret itself only exists encrypted (``StoredCredential.ciphertext``)
until a step asks for it; then it travels as a :class:`Secret`, whose ``repr``/``str``
never show the value, so a stray log line or f-string cannot leak it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from shared.domain.errors import BadRequest
from shared.domain.sql import IDENTIFIER_RE, PROJECT_ID_RE, validate_org_slug

PROVIDER_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# What a credential may carry besides its secret (listed in clear, so never secrets):
# base_url (API proxy or local server), billing_export_table (project.dataset.table of the
# org's GCP Cloud Billing export, read by gcp.bq_etl).
METADATA_KEYS = frozenset({"base_url", "billing_export_table"})
MAX_SECRET_BYTES = 8192


class Secret:
    """A credential value that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    """What may be shown about a credential: everything but the secret."""

    org_slug: str
    provider: str
    credential_id: str
    metadata: Mapping[str, str]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredCredential:
    info: CredentialInfo
    ciphertext: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Credential:
    """A decrypted credential, handed to a processor inside its step only."""

    provider: str
    credential_id: str
    api_key: Secret
    base_url: str | None = None
    billing_export_table: str | None = None  # project.dataset.table, validated when stored


def associated_data(org_slug: str, provider: str) -> bytes:
    """Binds a ciphertext to its org and provider: moved elsewhere, it fails to decrypt."""
    return f"credential\x00{org_slug}\x00{provider}".encode()


def validate_provider(provider: str) -> str:
    if not PROVIDER_RE.fullmatch(provider):
        raise BadRequest(f"invalid provider name {provider!r}", field="provider")
    return provider


def validate_secret(secret: str) -> str:
    value = secret.strip()
    if not value:
        raise BadRequest("the API key is empty", field="api_key")
    if len(value.encode()) > MAX_SECRET_BYTES:
        raise BadRequest(f"the API key is longer than {MAX_SECRET_BYTES} bytes", field="api_key")
    if any(ch.isspace() for ch in value):
        raise BadRequest("the API key contains whitespace", field="api_key")
    return value


def validate_metadata(metadata: Mapping[str, str | None]) -> dict[str, str]:
    """Known keys only; ``base_url`` must be an http(s) URL without credentials or query."""
    clean: dict[str, str] = {}
    for key, value in metadata.items():
        if key not in METADATA_KEYS:
            raise BadRequest(f"unknown credential metadata {key!r}", field=key)
        if not value:  # unset, or cleared with ""
            continue
        if key == "base_url":
            value = validate_base_url(value)
        if key == "billing_export_table":
            value = ".".join(split_table(value))
        clean[key] = value
    return clean


def split_table(value: str) -> tuple[str, str, str]:
    """(project, dataset, table) of ``project.dataset.table``, each part validated."""
    parts = value.strip().strip("`").split(".")
    if (
        len(parts) != 3
        or not PROJECT_ID_RE.fullmatch(parts[0])
        or not all(IDENTIFIER_RE.fullmatch(p) for p in parts[1:])
    ):
        raise BadRequest(
            f"billing_export_table must be project.dataset.table (a GCP project id, then "
            f"letters, digits and underscores), got {value!r}",
            field="billing_export_table",
        )
    return parts[0], parts[1], parts[2]


def validate_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"base_url must be an http(s) URL, got {url!r}", field="base_url")
    if parts.username or parts.password or parts.query or parts.fragment:
        # Secrets belong in the encrypted key, never in metadata that is listed in clear.
        raise BadRequest(
            "base_url must not carry user info, a query or a fragment", field="base_url"
        )
    return url.rstrip("/")


def validate_scope(org_slug: str, provider: str) -> None:
    validate_org_slug(org_slug)
    validate_provider(provider)


def credential_provider(config_provider: str, pipeline: str, registry: Mapping[str, object]) -> str:
    """Whose credential a pipeline uses.

    GenAI pipelines share the path provider ``genai`` (configs/genai/payg/{vendor}.yml): the
    pipeline name is the vendor when it is a registered provider; otherwise it is the
    config's own provider.
    """
    return pipeline if pipeline in registry else config_provider


REDACTED = "***"
# Encoded forms are redacted only for secrets this long: the base64 or percent-encoding of
# a short string is a short string that ordinary text contains by chance.
MIN_ENCODED_SECRET_CHARS = 8


def secret_forms(secret: str) -> list[str]:
    """The texts that carry ``secret``: itself and, when it is long enough, its base64
    (standard and urlsafe, with and without padding) and URL encodings (``quote`` with and
    without ``/`` kept, ``quote_plus``). Longest first, so no form is cut by a shorter one
    (a padded base64 loses its ``=`` with it)."""
    if not secret:
        return []
    forms = {secret}
    if len(secret) >= MIN_ENCODED_SECRET_CHARS:
        raw = secret.encode()
        for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
            text = encoded.decode("ascii")
            forms |= {text, text.rstrip("=")}
        forms |= {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    return sorted(forms, key=len, reverse=True)


def redact(value: Any, secrets: Sequence[str]) -> Any:
    """``value`` with each secret, raw or encoded (:func:`secret_forms`), replaced by ***,
    in a string or in the strings inside lists and mappings (step metrics): for text that
    leaves a step (logs, errors). Pure; the forms cost a few microseconds a call."""
    if not secrets:
        return value
    # Longest first across secrets too: one secret may be part of another.
    forms = sorted({form for secret in secrets for form in secret_forms(secret)}, key=len)
    return _redact(value, forms[::-1]) if forms else value


def _redact(value: Any, forms: Sequence[str]) -> Any:
    if isinstance(value, str):
        for form in forms:
            if form in value:
                value = value.replace(form, REDACTED)
        return value
    if isinstance(value, Mapping):
        return {_redact(k, forms): _redact(v, forms) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, forms) for v in value]
    return value
