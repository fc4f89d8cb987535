"""Object-store emulators for the remote billing-file tests, reached by the official clients.

GCS: the ``gcp-storage-emulator`` package, in-process on a free port, found by
google-cloud-storage through ``STORAGE_EMULATOR_HOST``. S3: moto's ``ThreadedMotoServer``
on a free port, found by boto3 through ``AWS_ENDPOINT_URL_S3``. Both start once per session
and only if a collected test asks; under CI=true one that cannot start FAILS the tests (they
are pip-installed dev dependencies, so they are always there), elsewhere they skip.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from shared.devtools.emulators import free_port
from tests.support.emulators import unavailable

_names = itertools.count()


@dataclass(frozen=True, slots=True)
class Bucket:
    """A fresh bucket on an emulator and a client to fill it."""

    name: str
    client: Any  # google.cloud.storage.Client or a boto3 S3 client
    scheme: str

    def uri(self, key: str = "") -> str:
        return f"{self.scheme}://{self.name}/{key}"

    def put(self, key: str, data: bytes) -> None:
        if self.scheme == "gs":
            self.client.bucket(self.name).blob(key).upload_from_string(data)
        else:
            self.client.put_object(Bucket=self.name, Key=key, Body=data)


def _served(what: str, start: Callable[[], tuple[Any, str]]) -> Iterator[str]:
    """The URL of a server ``start`` starts (it returns the server and its URL) until the
    session ends; one that cannot start fails the tests under CI and skips them elsewhere."""
    try:
        server, url = start()
    except Exception as exc:  # any start failure
        unavailable(f"{what}: {exc}")
        raise AssertionError("unreachable") from exc
    try:
        yield url
    finally:
        server.stop()


def _gcs_server() -> tuple[Any, str]:
    from gcp_storage_emulator.server import create_server

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    return server, f"http://127.0.0.1:{port}"


def _s3_server() -> tuple[Any, str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


@pytest.fixture(scope="session")
def gcs_emulator_host() -> Iterator[str]:
    yield from _served("gcp-storage-emulator", _gcs_server)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    yield from _served("moto server", _s3_server)


@pytest.fixture
def gcs_bucket(gcs_emulator_host: str, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    import google.cloud.storage as storage

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator_host)
    client = storage.Client(project="pipelines-test")
    name = f"billing-{next(_names)}"
    client.create_bucket(name)
    return Bucket(name, client, "gs")


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    import boto3

    # boto3 reads the endpoint itself; no ambient AWS identity may leak into the tests.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client(
        "s3", aws_access_key_id="AKIAEMULATORSETUP01", aws_secret_access_key="setup-secret"
    )
    name = f"billing-{next(_names)}"
    client.create_bucket(Bucket=name)
    return Bucket(name, client, "s3")
