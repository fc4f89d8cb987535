"""SecretBox with AES-256-GCM and a local key file (the embedded runtime's stand-in for KMS)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.domain.errors import SecretBoxError

_VERSION = b"\x01"
_NONCE_BYTES = 12  # 96-bit random nonces: the GCM standard size
_TAG_BYTES = 16
_KEY_BYTES = 32  # AES-256


class LocalKeySecretBox:
    """Ciphertext = version byte + 12-byte nonce + AES-GCM ciphertext and tag.

    The key file is created (mode 0600) on first use and read on every later one,
    so several processes sharing a home directory agree on one key.
    """

    def __init__(self, key_file: Path | str) -> None:
        self._key_file = Path(key_file)
        self._lock = threading.Lock()
        self._aead: AESGCM | None = None

    def encrypt(self, plaintext: bytes, *, associated_data: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._cipher().encrypt(nonce, plaintext, _VERSION + associated_data)
        return _VERSION + nonce + sealed

    def decrypt(self, ciphertext: bytes, *, associated_data: bytes) -> bytes:
        if len(ciphertext) < len(_VERSION) + _NONCE_BYTES + _TAG_BYTES:
            raise SecretBoxError("ciphertext is truncated")
        if ciphertext[:1] != _VERSION:
            raise SecretBoxError(f"unknown ciphertext version {ciphertext[0]}")
        nonce = ciphertext[1 : 1 + _NONCE_BYTES]
        try:
            # The version byte is authenticated too, so it cannot be swapped later.
            return self._cipher().decrypt(
                nonce, ciphertext[1 + _NONCE_BYTES :], _VERSION + associated_data
            )
        except InvalidTag:
            raise SecretBoxError(
                "ciphertext failed authentication: tampered, wrong key, or wrong org/provider"
            ) from None

    def _cipher(self) -> AESGCM:
        with self._lock:
            if self._aead is None:
                self._aead = AESGCM(_load_or_create_key(self._key_file))
            return self._aead


def _load_or_create_key(path: Path) -> bytes:
    if not path.exists():
        _create_key(path)
    key = path.read_bytes()
    if len(key) != _KEY_BYTES:
        raise SecretBoxError(
            f"key file {path} holds {len(key)} bytes, expected {_KEY_BYTES}; "
            "restore the right file (deleting it makes existing secrets unreadable)"
        )
    return key


def _create_key(path: Path) -> None:
    """Write a fresh key so that no reader ever sees a partial file.

    The key goes to a private temp file first (O_CREAT|O_EXCL, 0600), then is
    hard-linked into place: the link fails if another process won the race, and
    we then use theirs.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")  # unique per attempt
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # umask can only narrow the mode, but make it exact
        os.write(fd, os.urandom(_KEY_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process created it first: read theirs
    finally:
        tmp.unlink()
