"""A loopback Cloud KMS for tests: the real KeyManagementService gRPC API, Encrypt and
Decrypt only, doing real AES-256-GCM with the request's additional authenticated data.

No KMS emulator exists; this lets the official ``google-cloud-kms`` client (its
serialisation, transport, error mapping) be exercised end to end on 127.0.0.1.
"""

from __future__ import annotations

import os
from concurrent import futures

import google_crc32c
import grpc
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.cloud.kms_v1 import (
    DecryptRequest,
    DecryptResponse,
    EncryptRequest,
    EncryptResponse,
    KeyManagementServiceClient,
)
from google.cloud.kms_v1.services.key_management_service.transports import (
    KeyManagementServiceGrpcTransport,
)

SERVICE = "google.cloud.kms.v1.KeyManagementService"
_NONCE = 12


def _crc(data: bytes) -> int:
    return int(google_crc32c.value(data))


class LoopbackKms:
    """Serves the keys it was given (name -> random AES-256 key) on a free local port."""

    def __init__(self, key_names: list[str]) -> None:
        self._keys = {name: AESGCM(AESGCM.generate_key(bit_length=256)) for name in key_names}
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handlers = {
            "Encrypt": grpc.unary_unary_rpc_method_handler(
                self._encrypt,
                request_deserializer=EncryptRequest.deserialize,
                response_serializer=EncryptResponse.serialize,
            ),
            "Decrypt": grpc.unary_unary_rpc_method_handler(
                self._decrypt,
                request_deserializer=DecryptRequest.deserialize,
                response_serializer=DecryptResponse.serialize,
            ),
        }
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, handlers),)
        )
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    def client(self) -> KeyManagementServiceClient:
        channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        return KeyManagementServiceClient(
            transport=KeyManagementServiceGrpcTransport(channel=channel)
        )

    def stop(self) -> None:
        self._server.stop(grace=None)

    def _key(self, name: str, context: grpc.ServicerContext) -> AESGCM:
        key = self._keys.get(name)
        if key is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"CryptoKey {name} not found.")
        assert key is not None
        return key

    def _encrypt(self, request: EncryptRequest, context: grpc.ServicerContext) -> EncryptResponse:
        key = self._key(request.name, context)
        if not request.plaintext:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "plaintext is required")
        if "plaintext_crc32c" in request and request.plaintext_crc32c != _crc(request.plaintext):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "plaintext checksum mismatch")
        aad = request.additional_authenticated_data
        nonce = os.urandom(_NONCE)
        ciphertext = nonce + key.encrypt(nonce, request.plaintext, aad)
        return EncryptResponse(
            name=f"{request.name}/cryptoKeyVersions/1",
            ciphertext=ciphertext,
            ciphertext_crc32c=_crc(ciphertext),
            verified_plaintext_crc32c="plaintext_crc32c" in request,
            verified_additional_authenticated_data_crc32c=(
                "additional_authenticated_data_crc32c" in request
            ),
        )

    def _decrypt(self, request: DecryptRequest, context: grpc.ServicerContext) -> DecryptResponse:
        key = self._key(request.name, context)
        blob = request.ciphertext
        if "ciphertext_crc32c" in request and request.ciphertext_crc32c != _crc(blob):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "ciphertext checksum mismatch")
        try:
            plaintext = key.decrypt(
                blob[:_NONCE], blob[_NONCE:], request.additional_authenticated_data
            )
        except (InvalidTag, ValueError):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Decryption failed")
        return DecryptResponse(plaintext=plaintext, plaintext_crc32c=_crc(plaintext))
