"""Billing file sources without the pipeline: credentials, endpoints, URI forms, streaming."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.files.billing_sources import (
    GcsSource,
    LocalSource,
    S3Source,
    access_key_pair,
    open_source,
    parse_uri,
    service_account_info,
)
from shared.domain.credentials import Credential, Secret
from shared.domain.errors import BadRequest, StepFailure
from tests.support.google_apis import service_account_key
from tests.support.object_stores import Bucket


def _credential(secret: str, provider: str = "aws") -> Credential:
    return Credential(provider=provider, credential_id=f"{provider}_x", api_key=Secret(secret))


def _service_account_key() -> dict[str, Any]:
    return service_account_key("https://oauth2.googleapis.com/token")[0]


def test_uri_forms() -> None:
    assert parse_uri("/data/cur") == ("file", "", "/data/cur")
    assert parse_uri("file:///data/cur") == ("file", "", "/data/cur")
    assert parse_uri("gs://my-bucket/exports/cur/") == ("gs", "my-bucket", "exports/cur/")
    assert parse_uri("S3://my.bucket") == ("s3", "my.bucket", "")
    for uri, message in {
        "https://example.com/cur.csv": "unsupported scheme https://",
        "gs:///cur": "not a valid bucket name ''",
        "s3://My_Bucket/cur": "not a valid bucket name",
    }.items():
        with pytest.raises(BadRequest, match=message) as info:
            parse_uri(uri)
        assert uri in info.value.message
    assert isinstance(open_source("/data/cur"), LocalSource)


def test_credential_forms_never_show_the_secret() -> None:
    assert access_key_pair(_credential("AKIAEXAMPLEKEY000001:se/cr+et")) == (
        "AKIAEXAMPLEKEY000001",
        "se/cr+et",
        None,
    )
    assert access_key_pair(_credential("AKIAEXAMPLEKEY000001:s:token")) == (
        "AKIAEXAMPLEKEY000001",
        "s",
        "token",
    )
    for other in ("test-aws-credential", "short:secret", "AKIAEXAMPLEKEY000001:", "a:b:c:d"):
        assert access_key_pair(_credential(other)) is None
    assert access_key_pair(None) is None

    info = _service_account_key()
    as_json = _credential(json.dumps(info), "gcp")
    as_base64 = _credential(base64.b64encode(json.dumps(info).encode()).decode(), "gcp")
    assert service_account_info(as_json) == service_account_info(as_base64) == info
    assert service_account_info(_credential("test-gcp-credential", "gcp")) is None
    broken = {k: v for k, v in info.items() if k != "private_key"}
    with pytest.raises(BadRequest, match="lacks private_key") as exc:
        service_account_info(_credential(json.dumps(broken), "gcp"))
    assert "BEGIN PRIVATE KEY" not in exc.value.message


def test_gcs_uses_the_orgs_service_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    info = _service_account_key()
    logged: list[str] = []
    source = open_source(
        "gs://billing-exports/cur/",
        credential=lambda: _credential(json.dumps(info), "gcp"),
        project="svc-project",
        log=logged.append,
    )
    assert isinstance(source, GcsSource)
    client = source.client()
    assert client._credentials.service_account_email == info["client_email"]
    assert "devstorage.read_only" in client._credentials.scopes[0]
    assert logged == [
        f"reading gs://billing-exports/cur/ as the org's service account {info['client_email']}"
    ]
    assert all(info["private_key"] not in line for line in logged)


def test_s3_credentials_and_endpoints(
    tmp_path: Path, s3_bucket: Bucket, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_bucket.put("cur/a.parquet", b"PAR1 not really")
    uri = s3_bucket.uri("cur/a.parquet")
    placeholder = _credential("test-aws-credential")
    # not a key pair and no ambient identity: a clear error, no secret in it
    with pytest.raises(BadRequest, match="no AWS credentials") as exc:
        open_source(uri, credential=lambda: placeholder).objects()
    assert uri in exc.value.message
    assert "test-aws-credential" not in exc.value.message
    # the org's key pair
    pair = _credential("AKIAORGCREDENTIAL001:org-secret")
    logged: list[str] = []
    source = open_source(uri, credential=lambda: pair, log=logged.append)
    assert isinstance(source, S3Source)
    assert [o.uri for o in source.objects()] == [uri]
    assert logged == [f"reading {uri} with the org's access key pair"]
    # boto3's default chain (here: the environment)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASERVICEIDENTITY1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "service-secret")
    [obj] = open_source(uri, credential=lambda: placeholder).objects()
    # an explicit endpoint (an S3-compatible store) instead of AWS_ENDPOINT_URL_S3
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    source = open_source(uri, credential=lambda: pair, s3_endpoint_url=s3_endpoint)
    with source.local_file(obj) as path:
        assert path.name == "a.parquet"
        assert path.read_bytes() == b"PAR1 not really"
        kept = path
    assert not kept.exists(), "the download is deleted once read"


def test_a_local_source_lends_the_file_itself(tmp_path: Path) -> None:
    (tmp_path / "cur").mkdir()
    (tmp_path / "cur" / "b.csv").write_text("x\n")
    (tmp_path / "cur" / "a.csv.gz").write_bytes(b"")
    source = open_source(f"file://{tmp_path / 'cur'}", files_root=tmp_path)
    objects = source.objects()
    assert [o.name for o in objects] == ["a.csv.gz", "b.csv"]
    with source.local_file(objects[1]) as path:
        assert path == tmp_path / "cur" / "b.csv"
    assert path.exists()


def test_local_paths_are_read_only_below_the_files_root(tmp_path: Path) -> None:
    root, secret = tmp_path / "files", tmp_path / "home"
    (root / "cur").mkdir(parents=True)
    (root / "cur" / "a.csv").write_text("x\n")
    secret.mkdir()
    (secret / "state.csv").write_text("not yours\n")
    (root / "cur" / "link.csv").symlink_to(secret / "state.csv")
    assert [o.name for o in open_source("cur/a.csv", files_root=root).objects()] == ["a.csv"]
    for uri in (str(secret / "state.csv"), "../home/state.csv", "cur/link.csv", "cur"):
        with pytest.raises(BadRequest, match="read only below") as refused:
            open_source(uri, files_root=root).objects()
        assert "not yours" not in refused.value.message
    with pytest.raises(BadRequest, match="not read in this runtime; give a gs:// or s3://"):
        open_source(str(root / "cur" / "a.csv"), files_root=None).objects()


@pytest.mark.parametrize(
    ("code", "status", "message", "retryable"),
    [
        ("NoSuchBucket", 404, "not found", None),
        ("AccessDenied", 403, "access denied", None),
        ("InvalidAccessKeyId", 403, "credential was refused (InvalidAccessKeyId)", None),
        ("SlowDown", 503, "storage unavailable (SlowDown)", True),
        ("InternalError", 500, "storage unavailable", True),
        ("InvalidObjectState", 403, "storage refused the request (InvalidObjectState)", None),
    ],
)
def test_s3_errors_name_the_uri_and_choose_retry(
    code: str, status: int, message: str, retryable: bool | None
) -> None:
    from botocore.exceptions import ClientError

    uri = "s3://billing-bucket/cur/a.parquet"
    source = S3Source(uri, "billing-bucket", "cur/a.parquet", key_pair=None, endpoint_url=None)
    error = ClientError(
        {
            "Error": {"Code": code, "Message": "AKIAORGCREDENTIAL001 org-secret"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "GetObject",
    )
    expected: type[Exception] = StepFailure if retryable else BadRequest
    with pytest.raises(expected) as info, source._errors(uri):
        raise error
    text = str(info.value)
    assert text.startswith(f"{uri}: ")
    assert message in text
    assert "org-secret" not in text  # the store's own message is never echoed
    if retryable:
        assert isinstance(info.value, StepFailure)
        assert info.value.retryable


@pytest.mark.parametrize(
    ("error", "message", "retryable"),
    [
        ("Forbidden", "access denied (HTTP 403)", False),
        ("NotFound", "not found", False),
        ("TooManyRequests", "storage unavailable (429)", True),
        ("ServiceUnavailable", "storage unavailable (503)", True),
    ],
)
def test_gcs_errors_name_the_uri_and_choose_retry(
    error: str, message: str, retryable: bool
) -> None:
    from google.api_core import exceptions as api

    uri = "gs://billing-bucket/cur/"
    source = GcsSource(uri, "billing-bucket", "cur/", project="p")
    expected: type[Exception] = StepFailure if retryable else BadRequest
    with pytest.raises(expected) as info, source._errors(uri):
        raise getattr(api, error)("secret-ish server text")
    assert str(info.value).startswith(f"{uri}: ")
    assert message in str(info.value)
    assert "secret-ish" not in str(info.value)
