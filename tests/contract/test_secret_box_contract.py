"""The SecretBox contract: every adapter must pass this same suite.

To run it against another adapter, add one entry to BOX_FACTORIES; tests about the
local key file itself are at the end and only concern LocalKeySecretBox.
"""

from __future__ import annotations

import stat
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.adapters.kms_secrets import KmsSecretBox
from shared.adapters.local_secrets import LocalKeySecretBox
from shared.domain.errors import PipelineError
from shared.ports import SecretBox
from tests.support.loopback_kms import LoopbackKms

BoxFactory = Callable[[Path, pytest.FixtureRequest], SecretBox]

KMS_KEY = "projects/test/locations/global/keyRings/pipelines/cryptoKeys/credentials"


@pytest.fixture(scope="module")
def loopback_kms() -> Iterator[LoopbackKms]:
    server = LoopbackKms([KMS_KEY])
    yield server
    server.stop()


BOX_FACTORIES: dict[str, BoxFactory] = {
    "local": lambda tmp, _request: LocalKeySecretBox(tmp / "keys" / "secret.key"),
    "kms": lambda _tmp, request: KmsSecretBox(
        KMS_KEY, request.getfixturevalue("loopback_kms").client()
    ),
}

SECRET = b'{"api_key": "sk-live-0123456789abcdef"}'
ACME_AWS = b"org=acme;provider=aws"


@pytest.fixture(params=sorted(BOX_FACTORIES))
def box(request: pytest.FixtureRequest, tmp_path: Path) -> SecretBox:
    return BOX_FACTORIES[request.param](tmp_path, request)


def test_round_trip(box: SecretBox) -> None:
    sealed = box.encrypt(SECRET, associated_data=ACME_AWS)
    assert box.decrypt(sealed, associated_data=ACME_AWS) == SECRET


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plaintext=st.binary(max_size=2048), aad=st.binary(max_size=64))
def test_round_trips_any_bytes(box: SecretBox, plaintext: bytes, aad: bytes) -> None:
    assert box.decrypt(box.encrypt(plaintext, associated_data=aad), associated_data=aad) == (
        plaintext
    )


def test_same_plaintext_encrypts_differently_each_time(box: SecretBox) -> None:
    sealed = {box.encrypt(SECRET, associated_data=ACME_AWS) for _ in range(20)}
    assert len(sealed) == 20  # fresh nonce every time


def test_ciphertext_does_not_contain_the_plaintext(box: SecretBox) -> None:
    sealed = box.encrypt(SECRET, associated_data=ACME_AWS)
    assert SECRET not in sealed
    assert b"sk-live" not in sealed


@pytest.mark.parametrize("position", [0, 5, 20, -1])
def test_tampered_ciphertext_is_refused(box: SecretBox, position: int) -> None:
    sealed = bytearray(box.encrypt(SECRET, associated_data=ACME_AWS))
    sealed[position] ^= 0x01
    with pytest.raises(PipelineError) as caught:
        box.decrypt(bytes(sealed), associated_data=ACME_AWS)
    assert "sk-live" not in str(caught.value)


def test_truncated_ciphertext_is_refused(box: SecretBox) -> None:
    sealed = box.encrypt(SECRET, associated_data=ACME_AWS)
    for cut in (0, 5, len(sealed) - 1):
        with pytest.raises(PipelineError):
            box.decrypt(sealed[:cut], associated_data=ACME_AWS)


@pytest.mark.parametrize("other", [b"org=globex;provider=aws", b"org=acme;provider=gcp", b""])
def test_ciphertext_is_bound_to_its_org_and_provider(box: SecretBox, other: bytes) -> None:
    sealed = box.encrypt(SECRET, associated_data=ACME_AWS)
    with pytest.raises(PipelineError) as caught:
        box.decrypt(sealed, associated_data=other)
    assert "sk-live" not in str(caught.value)


# -- LocalKeySecretBox's key file -----------------------------------------------------


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "secret.key"
    sealed = LocalKeySecretBox(key_file).encrypt(SECRET, associated_data=ACME_AWS)

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes()) == 32
    assert LocalKeySecretBox(key_file).decrypt(sealed, associated_data=ACME_AWS) == SECRET
    assert [p.name for p in key_file.parent.iterdir()] == ["secret.key"]  # no temp left


def test_a_different_key_cannot_decrypt(tmp_path: Path) -> None:
    sealed = LocalKeySecretBox(tmp_path / "a.key").encrypt(SECRET, associated_data=ACME_AWS)
    with pytest.raises(PipelineError):
        LocalKeySecretBox(tmp_path / "b.key").decrypt(sealed, associated_data=ACME_AWS)


def test_key_file_of_the_wrong_length_is_rejected(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_bytes(b"too short")
    with pytest.raises(PipelineError, match="expected 32"):
        LocalKeySecretBox(key_file).encrypt(SECRET, associated_data=ACME_AWS)


def test_racing_first_uses_agree_on_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    boxes = [LocalKeySecretBox(key_file) for _ in range(8)]
    start = threading.Barrier(len(boxes))

    def seal(box: LocalKeySecretBox) -> bytes:
        start.wait(timeout=30)
        return box.encrypt(SECRET, associated_data=ACME_AWS)

    with ThreadPoolExecutor(max_workers=len(boxes)) as pool:
        sealed = list(pool.map(seal, boxes))

    reader = LocalKeySecretBox(key_file)
    assert all(reader.decrypt(s, associated_data=ACME_AWS) == SECRET for s in sealed)


# -- KmsSecretBox against the loopback KMS ----------------------------------------------


def test_kms_ciphertext_of_another_key_is_refused() -> None:
    other_key = KMS_KEY.replace("credentials", "other")
    server = LoopbackKms([KMS_KEY, other_key])
    try:
        sealed = KmsSecretBox(KMS_KEY, server.client()).encrypt(SECRET, associated_data=ACME_AWS)
        with pytest.raises(PipelineError) as caught:
            KmsSecretBox(other_key, server.client()).decrypt(sealed, associated_data=ACME_AWS)
        assert "sk-live" not in str(caught.value)
    finally:
        server.stop()


def test_kms_unknown_key_is_a_clear_error(loopback_kms: LoopbackKms) -> None:
    box = KmsSecretBox(KMS_KEY.replace("credentials", "missing"), loopback_kms.client())
    with pytest.raises(PipelineError, match="check the key name") as caught:
        box.encrypt(SECRET, associated_data=ACME_AWS)
    assert "sk-live" not in str(caught.value)
