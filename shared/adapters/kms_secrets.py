"""SecretBox on Cloud KMS (symmetric ENCRYPT_DECRYPT key), through the official client.

The org/provider binding travels as KMS ``additional_authenticated_data``: a secret
sealed for one org and provider does not decrypt for another. Requests and responses
carry CRC32C checksums, as Google recommends, so corruption in transit is caught.

The plaintext is framed with a version byte before it is sent: KMS treats an empty
``plaintext`` field as missing, and the frame also leaves room for a format change.
"""

from __future__ import annotations

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
        framed = _FRAME + plaintext
        try:
            response = self._client.encrypt(
                request={
                    "name": self._key_name,
                    "plaintext": framed,
                    "plaintext_crc32c": _crc(framed),
                    "additional_authenticated_data": associated_data,
                    "additional_authenticated_data_crc32c": _crc(associated_data),
                },
                timeout=_TIMEOUT_S,
            )
        except gexc.GoogleAPICallError as exc:
            raise _service_error("encrypt", exc) from None
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
        try:
            response = self._client.decrypt(
                request={
                    "name": self._key_name,
                    "ciphertext": ciphertext,
                    "ciphertext_crc32c": _crc(ciphertext),
                    "additional_authenticated_data": associated_data,
                    "additional_authenticated_data_crc32c": _crc(associated_data),
                },
                timeout=_TIMEOUT_S,
            )
        except gexc.InvalidArgument:
            # KMS says only "decryption failed": tampered, wrong key or wrong org/provider.
            raise SecretBoxError(
                "ciphertext failed authentication: tampered, wrong key, or wrong org/provider"
            ) from None
        except gexc.GoogleAPICallError as exc:
            raise _service_error("decrypt", exc) from None
        if response.plaintext_crc32c != _crc(response.plaintext):
            raise SecretBoxError("KMS response was corrupted in transit (checksum mismatch)")
        plaintext = bytes(response.plaintext)
        if plaintext[:1] != _FRAME:
            raise SecretBoxError("unknown secret format version")
        return plaintext[1:]


def _service_error(operation: str, exc: gexc.GoogleAPICallError) -> Exception:
    """Never echo request contents: only the operation and the status code."""
    code = getattr(exc, "code", None)
    if isinstance(exc, gexc.NotFound | gexc.PermissionDenied | gexc.FailedPrecondition):
        return SecretBoxError(f"KMS {operation} refused ({code}): check the key name and IAM")
    return DependencyUnavailable(f"KMS {operation} failed ({code}); try again later")
