"""Provider credentials: store (encrypted), list (no secrets), delete, and the two reads
the engine needs: the run's credential_id at dispatch, the decrypted key inside a step.
"""

from __future__ import annotations

import uuid

from shared.domain.config import PipelineConfig
from shared.domain.credentials import (
    Credential,
    CredentialInfo,
    Secret,
    associated_data,
    credential_provider,
    validate_metadata,
    validate_scope,
    validate_secret,
)
from shared.domain.errors import BadRequest, NotFound, SecretBoxError, StepFailure
from shared.handlers.services import Services

INTERNAL_CREDENTIAL = "internal"  # lineage value for pipelines that need no provider credential


def set_credential(
    services: Services,
    org_slug: str,
    provider: str,
    api_key: str,
    *,
    base_url: str | None = None,
    billing_export_table: str | None = None,
) -> CredentialInfo:
    """Encrypt and store the org's key for ``provider``; a second call rotates it,
    keeping the metadata it does not set ("" clears a value).

    The credential_id is kept on rotation: it is part of every row's lineage key, so a new
    id would leave the old key's rows beside the new ones on the next rerun.
    """
    validate_scope(org_slug, provider)
    if services.store.get_org(org_slug) is None:
        raise NotFound(f"organization {org_slug} does not exist")
    spec = services.catalog.providers.get(provider)
    if spec is None:
        known = ", ".join(p for p, s in services.catalog.providers.items() if s.requires_credential)
        raise BadRequest(f"unknown provider {provider!r}; known: {known}", field="provider")
    if not spec.requires_credential:
        raise BadRequest(f"provider {provider!r} takes no credential", field="provider")
    secret = validate_secret(api_key)
    existing = services.credentials.get(org_slug, provider)
    # A rotation keeps what the call leaves out (a GCP key rotated without its export
    # table would otherwise fail every billing run); an empty value clears it.
    given = {"base_url": base_url, "billing_export_table": billing_export_table}
    metadata = validate_metadata(
        {
            **(existing.info.metadata if existing else {}),
            **{key: value for key, value in given.items() if value is not None},
        }
    )
    credential_id = (
        existing.info.credential_id if existing else f"{provider}_{uuid.uuid4().hex[:12]}"
    )
    ciphertext = services.secrets.encrypt(
        secret.encode(), associated_data=associated_data(org_slug, provider)
    )
    services.credentials.put(
        org_slug, provider, credential_id, ciphertext, metadata, services.clock.now()
    )
    stored = services.credentials.get(org_slug, provider)
    assert stored is not None
    return stored.info


def list_credentials(services: Services, org_slug: str) -> list[CredentialInfo]:
    validate_scope(org_slug, "any")
    return services.credentials.list(org_slug)


def delete_credential(services: Services, org_slug: str, provider: str) -> None:
    validate_scope(org_slug, provider)
    if not services.credentials.delete(org_slug, provider):
        raise NotFound(f"{org_slug} has no {provider} credential")


def run_credential_id(
    services: Services, org_slug: str, config: PipelineConfig, pipeline: str
) -> str:
    """The credential a new run uses; 400 if its provider needs one and the org has none."""
    providers = services.catalog.providers
    provider = credential_provider(config.provider, pipeline, providers)
    spec = providers.get(provider)
    if spec is None or not spec.requires_credential:
        return INTERNAL_CREDENTIAL
    stored = services.credentials.get(org_slug, provider)
    if stored is None:
        raise BadRequest(
            f"{provider} integration not active",
            field="credential",
            provider=provider,
            hint=f"pipelines credentials set {org_slug} {provider} --api-key-stdin",
        )
    return stored.info.credential_id


def load_credential(
    services: Services, org_slug: str, config: PipelineConfig, pipeline: str, credential_id: str
) -> Credential:
    """Decrypt the run's credential (inside the step only). Never puts the key in errors."""
    provider = credential_provider(config.provider, pipeline, services.catalog.providers)
    stored = services.credentials.get(org_slug, provider)
    if stored is None:
        raise StepFailure(
            f"the {provider} credential was deleted after the run started", retryable=False
        )
    if stored.info.credential_id != credential_id:
        raise StepFailure(
            f"the {provider} credential changed after the run started "
            f"({credential_id} -> {stored.info.credential_id}): start a new run",
            retryable=False,
        )
    try:
        plaintext = services.secrets.decrypt(
            stored.ciphertext, associated_data=associated_data(org_slug, provider)
        )
    except SecretBoxError as exc:
        raise StepFailure(
            f"the {provider} credential cannot be decrypted: {exc.message}", retryable=False
        ) from None
    return Credential(
        provider=provider,
        credential_id=credential_id,
        api_key=Secret(plaintext.decode()),
        base_url=stored.info.metadata.get("base_url"),
        billing_export_table=stored.info.metadata.get("billing_export_table"),
    )
