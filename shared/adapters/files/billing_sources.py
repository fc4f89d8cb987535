"""Where billing files come from: a local path, ``gs://bucket/prefix`` or ``s3://bucket/prefix``.

A :class:`BillingFileSource` lists the billing objects a URI names (one object, or every
``.parquet`` / ``.csv.gz`` / ``.csv`` object under the prefix, as for a local directory)
and hands each one over as a local file: remote objects are downloaded, streamed in chunks
by the official client, to a temporary file that is deleted as soon as it has been read.
Reading is then the same code for every source
(:func:`shared.adapters.files.billing_files.read_batches`), so memory never holds more
than a download chunk and one batch.

Credentials (never in a message): for ``gs://`` the run's credential when it is a service
account key (JSON, or the JSON base64-encoded since stored keys hold no whitespace), else
application default credentials; for ``s3://`` the run's credential when it is an access key
pair ``ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]``, else boto3's default chain. The
emulators and S3-compatible stores are reached through ``STORAGE_EMULATOR_HOST`` and
``AWS_ENDPOINT_URL_S3`` (both read by the clients themselves) or an explicit endpoint.

Errors name the URI: a bad URI, a missing bucket or object, no billing files, access denied
and refused credentials are :class:`BadRequest` (retrying cannot help); throttling, server
errors and lost connections are retryable :class:`StepFailure`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from shared.adapters.files.billing_files import SUFFIXES, billing_files
from shared.domain.credentials import Credential
from shared.domain.errors import BadRequest, StepFailure

REMOTE_SCHEMES = ("gs", "s3")
# Lower-case letters, digits, dots, dashes (and underscores for GCS): both stores' rules,
# loosely; the store itself rejects the rest with a clear "no such bucket".
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_ACCESS_KEY_ID_RE = re.compile(r"^[A-Za-z0-9]{16,128}$")
GCS_READ_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"


@dataclass(frozen=True, slots=True)
class BillingObject:
    """One billing file of a source: ``key`` locates it there, ``uri`` names it in messages."""

    key: str
    uri: str
    size: int | None = None

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).name


class BillingFileSource(ABC):
    """Lists the billing files of a URI and lends each as a local file."""

    suffixes: tuple[str, ...] = SUFFIXES  # what names a billing file (open_source sets it)

    def __init__(self, uri: str) -> None:
        self.uri = uri

    @abstractmethod
    def objects(self) -> list[BillingObject]:
        """The billing files, in key order; BadRequest when there are none."""

    @abstractmethod
    @contextmanager
    def local_file(self, obj: BillingObject) -> Iterator[Path]:
        """A local file holding ``obj`` for the time of the ``with`` block."""


class LocalSource(BillingFileSource):
    """A path on the service's own disk, read only below ``root``: the URI comes from an org's
    run parameters, and no org may make the service read its database, key file or code."""

    def __init__(self, uri: str, path: str, root: Path | None) -> None:
        super().__init__(uri)
        self.path, self.root = path, root

    def objects(self) -> list[BillingObject]:
        if self.root is None:
            raise BadRequest(
                f"{self.uri}: local paths are not read in this runtime; give a gs:// or s3:// URI",
                field="uri",
            )
        root = self.root.resolve()
        outside = BadRequest(
            f"{self.uri}: local billing files are read only below {root} (PIPELINES_FILES_ROOT)",
            field="uri",
        )
        if not (root / self.path).resolve().is_relative_to(root):
            raise outside
        files = billing_files(str(root / self.path), self.suffixes)
        # A symlink below the root may still point outside it.
        if not all(p.resolve().is_relative_to(root) for p in files):
            raise outside
        return [BillingObject(str(p), str(p), p.stat().st_size) for p in files]

    @contextmanager
    def local_file(self, obj: BillingObject) -> Iterator[Path]:
        yield Path(obj.key)


class _ObjectStoreSource(BillingFileSource):
    """Listing and download rules shared by GCS and S3; subclasses talk to their store."""

    scheme: str

    def __init__(self, uri: str, bucket: str, key: str) -> None:
        super().__init__(uri)
        self.bucket, self.key = bucket, key
        self._client: Any = None

    def client(self) -> Any:
        """The store's client, made on first use (its import is heavy)."""
        if self._client is None:
            self._client = self._connect()
        return self._client

    @abstractmethod
    def _connect(self) -> Any:
        """A new client of the store."""

    @abstractmethod
    def _list(self, prefix: str) -> Iterator[tuple[str, int | None]]:
        """(key, size) of every object whose key starts with ``prefix``."""

    @abstractmethod
    def _download(self, key: str, target: Path) -> None:
        """Stream the object into ``target`` (chunked: never the whole object in memory)."""

    @abstractmethod
    @contextmanager
    def _errors(self, uri: str) -> Iterator[None]:
        """Turn the client's exceptions into BadRequest/StepFailure naming ``uri``."""

    def objects(self) -> list[BillingObject]:
        # One listing serves both readings of the URI: the object itself, or a "directory".
        folder = self.key.rstrip("/") + "/" if self.key.strip("/") else ""
        with self._errors(self.uri):
            listed = sorted(self._list(self.key.rstrip("/") if folder else ""))
        exact = [(k, s) for k, s in listed if k == self.key and not k.endswith("/")]
        if exact:
            if not self.key.endswith(self.suffixes):
                raise BadRequest(
                    f"{self.uri}: not a billing file ({', '.join(self.suffixes)})", field="uri"
                )
            chosen = exact
        else:
            chosen = [
                (k, s) for k, s in listed if k.startswith(folder) and k.endswith(self.suffixes)
            ]
        if not chosen:
            raise BadRequest(
                f"{self.uri}: no billing files ({', '.join(self.suffixes)}) at this object or "
                "under this prefix",
                field="uri",
            )
        return [BillingObject(k, f"{self.scheme}://{self.bucket}/{k}", s) for k, s in chosen]

    @contextmanager
    def local_file(self, obj: BillingObject) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="billing-") as directory:
            # The file keeps its name: the reader picks the format by suffix and names it.
            target = Path(directory) / obj.name
            with self._errors(obj.uri):
                self._download(obj.key, target)
            yield target


class GcsSource(_ObjectStoreSource):
    """``gs://``: google-cloud-storage, which honours ``STORAGE_EMULATOR_HOST``."""

    scheme = "gs"

    def __init__(
        self, uri: str, bucket: str, key: str, *, credentials: Any = None, project: str | None
    ) -> None:
        super().__init__(uri, bucket, key)
        self._credentials, self._project = credentials, project

    def _connect(self) -> Any:
        import google.auth.exceptions
        import google.cloud.storage as storage

        try:
            return storage.Client(project=self._project, credentials=self._credentials)
        except google.auth.exceptions.DefaultCredentialsError:
            raise BadRequest(
                f"{self.uri}: no Google credentials: store the org's service account key "
                "as its credential or give the service application default credentials",
                field="credential",
            ) from None

    def _list(self, prefix: str) -> Iterator[tuple[str, int | None]]:
        for blob in self.client().list_blobs(self.bucket, prefix=prefix):
            yield blob.name, blob.size

    def _download(self, key: str, target: Path) -> None:
        self.client().bucket(self.bucket).blob(key).download_to_filename(str(target))

    @contextmanager
    def _errors(self, uri: str) -> Iterator[None]:
        import google.auth.exceptions
        import requests
        from google.api_core import exceptions as api
        from google.cloud.storage.exceptions import DataCorruption

        try:
            yield
        except DataCorruption:  # checksum mismatch: the next download may be whole
            raise StepFailure(
                f"{uri}: download corrupted (checksum mismatch)", retryable=True
            ) from None
        except api.NotFound:
            raise BadRequest(f"{uri}: not found (no such bucket or object)", field="uri") from None
        except (api.Forbidden, api.Unauthorized) as exc:
            raise BadRequest(
                f"{uri}: access denied (HTTP {exc.code}): the credential cannot read this bucket",
                field="uri",
            ) from None
        except google.auth.exceptions.RefreshError:
            raise BadRequest(
                f"{uri}: the Google credential was refused (token refresh failed)",
                field="credential",
            ) from None
        except (api.TooManyRequests, api.ServerError) as exc:
            raise StepFailure(f"{uri}: storage unavailable ({exc.code})", retryable=True) from None
        except api.RetryError:  # the client's own retries ran out
            raise StepFailure(
                f"{uri}: storage unavailable (retries exhausted)", retryable=True
            ) from None
        except (google.auth.exceptions.TransportError, requests.RequestException) as exc:
            raise StepFailure(
                f"{uri}: storage unreachable ({type(exc).__name__})", retryable=True
            ) from None
        except api.GoogleAPICallError as exc:
            raise BadRequest(
                f"{uri}: storage refused the request ({exc.code})", field="uri"
            ) from None


class S3Source(_ObjectStoreSource):
    """``s3://``: boto3 (endpoint from ``endpoint_url``, else ``AWS_ENDPOINT_URL_S3``)."""

    scheme = "s3"
    _MISSING = frozenset({"NoSuchBucket", "NoSuchKey", "404", "NotFound"})
    _DENIED = frozenset({"AccessDenied", "403", "AllAccessDisabled", "AccountProblem"})
    _REFUSED = frozenset(
        {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}
    )
    _TRANSIENT = frozenset(
        {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "500", "503"}
    )

    def __init__(
        self,
        uri: str,
        bucket: str,
        key: str,
        *,
        key_pair: tuple[str, str, str | None] | None,
        endpoint_url: str | None,
    ) -> None:
        super().__init__(uri, bucket, key)
        self._key_pair, self._endpoint_url = key_pair, endpoint_url

    def _connect(self) -> Any:
        import boto3
        from botocore.config import Config

        session = (
            boto3.Session(
                aws_access_key_id=self._key_pair[0],
                aws_secret_access_key=self._key_pair[1],
                aws_session_token=self._key_pair[2],
            )
            if self._key_pair
            else boto3.Session()  # the default chain: env, shared files, instance role
        )
        return session.client(
            "s3",
            endpoint_url=self._endpoint_url,
            config=Config(retries={"mode": "standard", "max_attempts": 3}),
        )

    def _list(self, prefix: str) -> Iterator[tuple[str, int | None]]:
        pages = self.client().get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"], item.get("Size")

    def _download(self, key: str, target: Path) -> None:
        self.client().download_file(self.bucket, key, str(target))

    @contextmanager
    def _errors(self, uri: str) -> Iterator[None]:
        from botocore import exceptions as aws

        try:
            yield
        except (aws.NoCredentialsError, aws.PartialCredentialsError):
            raise BadRequest(
                f"{uri}: no AWS credentials: store the org's credential as "
                "ACCESS_KEY_ID:SECRET_ACCESS_KEY or give the service boto3's default chain",
                field="credential",
            ) from None
        except aws.ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in self._MISSING:
                raise BadRequest(
                    f"{uri}: not found (no such bucket or object)", field="uri"
                ) from None
            if code in self._DENIED:
                raise BadRequest(
                    f"{uri}: access denied: the credential cannot read this bucket", field="uri"
                ) from None
            if code in self._REFUSED:
                raise BadRequest(
                    f"{uri}: the AWS credential was refused ({code})", field="credential"
                ) from None
            if code in self._TRANSIENT or (isinstance(status, int) and status >= 500):
                raise StepFailure(f"{uri}: storage unavailable ({code})", retryable=True) from None
            raise BadRequest(f"{uri}: storage refused the request ({code})", field="uri") from None
        except aws.ParamValidationError:
            raise BadRequest(f"{uri}: not a valid S3 bucket or key", field="uri") from None
        except (aws.ConnectionError, aws.HTTPClientError) as exc:
            raise StepFailure(
                f"{uri}: storage unreachable ({type(exc).__name__})", retryable=True
            ) from None


def parse_uri(uri: str) -> tuple[str, str, str]:
    """(scheme, bucket, key) of a billing URI; scheme ``file`` for local paths."""
    match = _SCHEME_RE.match(uri)
    if match is None:
        return "file", "", uri
    scheme = match.group(1).lower()
    if scheme == "file":
        return "file", "", uri.removeprefix(match.group(0))
    if scheme not in REMOTE_SCHEMES:
        raise BadRequest(
            f"{uri}: unsupported scheme {scheme}:// (a local path, gs:// or s3://)", field="uri"
        )
    bucket, _, key = uri[len(match.group(0)) :].partition("/")
    if not _BUCKET_RE.fullmatch(bucket):
        raise BadRequest(f"{uri}: not a valid bucket name {bucket!r}", field="uri")
    return scheme, bucket, key


def open_source(
    uri: str,
    *,
    credential: Callable[[], Credential | None] = lambda: None,
    project: str | None = None,
    s3_endpoint_url: str | None = None,
    log: Callable[[str], None] = lambda _: None,
    files_root: Path | None = None,
    suffixes: tuple[str, ...] = SUFFIXES,
) -> BillingFileSource:
    """The source for ``uri``, listing the files named with ``suffixes``. ``credential`` is
    only called (decrypted) for remote URIs; local paths are read only below ``files_root``
    (relative ones from there)."""
    source = _source(uri, credential, project, s3_endpoint_url, log, files_root)
    source.suffixes = suffixes
    return source


def _source(
    uri: str,
    credential: Callable[[], Credential | None],
    project: str | None,
    s3_endpoint_url: str | None,
    log: Callable[[str], None],
    files_root: Path | None,
) -> BillingFileSource:
    scheme, bucket, key = parse_uri(uri)
    if scheme == "file":
        return LocalSource(uri, key, files_root)
    secret = credential()
    if scheme == "gs":
        info = service_account_info(secret)
        creds: Any = None
        if os.environ.get("STORAGE_EMULATOR_HOST"):
            log(f"reading {uri} from the storage emulator (no credentials)")
        elif info is not None:
            from google.oauth2 import service_account

            creds = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=[GCS_READ_SCOPE]
            )
            log(f"reading {uri} as the org's service account {info.get('client_email')}")
        else:
            log(f"reading {uri} with application default credentials")
        return GcsSource(uri, bucket, key, credentials=creds, project=project)
    pair = access_key_pair(secret)
    log(
        f"reading {uri} with the org's access key pair"
        if pair
        else f"reading {uri} with boto3's default credential chain"
    )
    return S3Source(uri, bucket, key, key_pair=pair, endpoint_url=s3_endpoint_url)


def access_key_pair(credential: Credential | None) -> tuple[str, str, str | None] | None:
    """``ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]``, or None for any other secret."""
    if credential is None:
        return None
    parts = credential.api_key.reveal().split(":")
    if len(parts) not in (2, 3) or not _ACCESS_KEY_ID_RE.fullmatch(parts[0]) or not parts[1]:
        return None
    return parts[0], parts[1], parts[2] if len(parts) == 3 and parts[2] else None


def service_account_info(credential: Credential | None) -> dict[str, Any] | None:
    """A service account key (JSON, or base64 of it) from the credential, else None."""
    if credential is None:
        return None
    text = credential.api_key.reveal().strip()
    if not text.startswith("{"):
        try:
            text = base64.b64decode(text, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
    try:
        info = json.loads(text)
    except ValueError:
        return None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        return None
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        # Never echo the key: only which fields it lacks.
        raise BadRequest(
            f"the org's service account key lacks {', '.join(missing)}", field="credential"
        )
    return info
