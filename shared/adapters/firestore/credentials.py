"""CredentialStore on Cloud Firestore: ``orgs/{org}/credentials/{provider}``.

The org is part of the document path, so a read can only ever see the caller's org.
Documents hold SecretBox ciphertext (bytes), never a usable secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from google.cloud import firestore

from shared.domain.credentials import CredentialInfo, StoredCredential, validate_scope
from shared.domain.sql import validate_org_slug


class FirestoreCredentialStore:
    def __init__(self, client: firestore.Client) -> None:
        self._db = client

    def _ref(self, org_slug: str, provider: str) -> Any:
        validate_scope(org_slug, provider)
        return (
            self._db.collection("orgs")
            .document(org_slug)
            .collection("credentials")
            .document(provider)
        )

    def put(
        self,
        org_slug: str,
        provider: str,
        credential_id: str,
        ciphertext: bytes,
        metadata: Mapping[str, str],
        at: datetime,
    ) -> None:
        ref = self._ref(org_slug, provider)

        @firestore.transactional
        def replace(txn: Any) -> None:
            snap = ref.get(transaction=txn)
            created_at = (snap.to_dict() or {}).get("created_at", at) if snap.exists else at
            txn.set(
                ref,
                {
                    "org_slug": org_slug,
                    "provider": provider,
                    "credential_id": credential_id,
                    "ciphertext": ciphertext,
                    "metadata": dict(metadata),
                    "created_at": created_at,
                    "updated_at": at,
                },
            )

        replace(self._db.transaction())

    def get(self, org_slug: str, provider: str) -> StoredCredential | None:
        snap = self._ref(org_slug, provider).get()
        if not snap.exists:
            return None
        data = snap.to_dict() or {}
        return StoredCredential(info=_info(data), ciphertext=bytes(data["ciphertext"]))

    def list(self, org_slug: str) -> list[CredentialInfo]:
        validate_org_slug(org_slug)
        snaps = self._db.collection("orgs").document(org_slug).collection("credentials").stream()
        return sorted((_info(snap.to_dict() or {}) for snap in snaps), key=lambda i: i.provider)

    def delete(self, org_slug: str, provider: str) -> bool:
        ref = self._ref(org_slug, provider)
        if not ref.get().exists:
            return False
        ref.delete()
        return True


def _info(data: Mapping[str, Any]) -> CredentialInfo:
    return CredentialInfo(
        org_slug=data["org_slug"],
        provider=data["provider"],
        credential_id=data["credential_id"],
        metadata=dict(data.get("metadata") or {}),
        created_at=data["created_at"],
        updated_at=data["updated_at"],
    )
