"""SecretBox on Cloud KMS (symmetric ENCRYPT_DECRYPT key), through the official client.

The org/provider binding travels as KMS ``additional_authenticated_data``: a secret
sealed for one org and provider does not decrypt for another. Requests and responses
carry CRC32C checksums, as Google recommends, so corruption in transit is caught.

The plaintext is framed with a version byte before it is sent: KMS treats an empty
``plaintext`` field as missing, and the frame also leaves room for a format change.
"""

from __future__ import annotations

from typing import Any, Literal

import google_crc32c
from google.api_core import exceptions as gexc
from google.cloud.kms_v1 import KeyManagementServiceClient

from shared.domain.errors import DependencyUnavailable, SecretBoxError

_FRAME = b"\x01"
_TIMEOUT_S = 30.0


def _crc(data: bytes) -> int:
    return int(google_crc32c.value(data))


class KmsSecretBox:
    """``key_name`` is projects/P/locations/L/keyRings/R/cryptoKeys/K."""

    def __init__(self, key_name: str, client: KeyManagementServiceClient | None = None) -> None:
        self._key_name = key_name
        self._client = client or KeyManagementServiceClient()

    def encrypt(self, plaintext: bytes, *, associated_data: bytes) -> bytes:
        response = self._call("encrypt", "plaintext", _FRAME + plaintext, associated_data)
        if not response.verified_plaintext_crc32c or (
            associated_data and not response.verified_additional_authenticated_data_crc32c
        ):
            raise SecretBoxError("KMS did not verify the request checksums; nothing was stored")
        if response.ciphertext_crc32c != _crc(response.ciphertext):
            raise SecretBoxError("KMS response was corrupted in transit (checksum mismatch)")
        return bytes(response.ciphertext)

    def decrypt(self, ciphertext: bytes, *, associated_data: bytes) -> bytes:
        if not ciphertext:
            raise SecretBoxError("ciphertext is empty")
        # KMS says only "decryption failed": tampered, wrong key or wrong org/provider.
        refused = "ciphertext failed authentication: tampered, wrong key, or wrong org/provider"
        response = self._call("decrypt", "ciphertext", ciphertext, associated_data, refused)
        if response.plaintext_crc32c != _crc(response.plaintext):
            raise SecretBoxError("KMS response was corrupted in transit (checksum mismatch)")
        plaintext = bytes(response.plaintext)
        if plaintext[:1] != _FRAME:
            raise SecretBoxError("unknown secret format version")
        return plaintext[1:]

    def _call(
        self,
        operation: Literal["encrypt", "decrypt"],
        field: str,
        data: bytes,
        associated_data: bytes,
        invalid: str | None = None,
    ) -> Any:
        """KMS ``operation`` on ``data`` (the request's ``field``) bound to
        ``associated_data``, each with its checksum; ``invalid`` is what an
        INVALID_ARGUMENT answer means (None: a service error like any other)."""
        request = {
            "name": self._key_name,
            field: data,
            f"{field}_crc32c": _crc(data),
            "additional_authenticated_data": associated_data,
            "additional_authenticated_data_crc32c": _crc(associated_data),
        }
        try:
            return getattr(self._client, operation)(request=request, timeout=_TIMEOUT_S)
        except gexc.InvalidArgument as exc:
            if invalid is None:
                raise _service_error(operation, exc) from None
            raise SecretBoxError(invalid) from None
        except gexc.GoogleAPICallError as exc:
            raise _service_error(operation, exc) from None


def _service_error(operation: str, exc: gexc.GoogleAPICallError) -> Exception:
    """Never echo request contents: only the operation and the status code."""
    code = getattr(exc, "code", None)
    if isinstance(exc, gexc.NotFound | gexc.PermissionDenied | gexc.FailedPrecondition):
        return SecretBoxError(f"KMS {operation} refused ({code}): check the key name and IAM")
    return DependencyUnavailable(f"KMS {operation} failed ({code}); try again later")
