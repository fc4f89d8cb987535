"""Which client-library errors are outages (503, retryable) and which are bugs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from google.api_core import exceptions as gexc

from shared.adapters.outages import as_unavailable, classify
from shared.domain.errors import (
    BadRequest,
    ConfigError,
    Conflict,
    DependencyUnavailable,
    Forbidden,
    IllegalTransition,
    NotFound,
    QuotaExceeded,
    SecretBoxError,
    StepFailure,
    Unauthorized,
)


def _sqlite_error(tmp_path: Path, sql: str, *, lock: bool = False) -> sqlite3.Error:
    db = tmp_path / "x.db"
    sqlite3.connect(db, isolation_level=None).execute("CREATE TABLE IF NOT EXISTS t (a)")
    holder = sqlite3.connect(db, isolation_level=None)
    if lock:
        holder.execute("BEGIN EXCLUSIVE")
    try:
        sqlite3.connect(db, timeout=0.01, isolation_level=None).execute(sql)
    except sqlite3.Error as exc:
        return exc
    finally:
        holder.close()
    raise AssertionError(f"{sql} did not fail")


def test_a_locked_sqlite_file_is_an_outage_and_bad_sql_is_not(tmp_path: Path) -> None:
    locked = as_unavailable(_sqlite_error(tmp_path, "INSERT INTO t VALUES (1)", lock=True))
    assert locked is not None
    assert (
        locked.message == "the state store is unavailable (database is locked); try again shortly"
    )
    assert locked.http_status == 503
    assert as_unavailable(_sqlite_error(tmp_path, "SELECT * FROM missing")) is None


@pytest.mark.parametrize(
    "error",
    [
        gexc.RetryError("Timeout of 1.0s exceeded", cause=gexc.ServiceUnavailable("down")),
        gexc.ServiceUnavailable("503 failed to connect to all addresses"),
        gexc.DeadlineExceeded("deadline"),
        httpx.ConnectError("[Errno 111] Connection refused"),
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("publish not acknowledged in 60 s"),
    ],
)
def test_transport_and_retry_errors_are_outages(error: Exception) -> None:
    outage = as_unavailable(error)
    assert isinstance(outage, DependencyUnavailable)
    assert type(error).__name__ in outage.message
    assert "\n" not in outage.message


def test_an_outage_behind_another_error_is_found() -> None:
    """A Firestore transaction that cannot begin raises ValueError from the RetryError."""
    try:
        try:
            raise gexc.RetryError("Timeout of 1.0s exceeded", cause=None)
        except gexc.RetryError:
            raise ValueError("The transaction has no transaction ID") from None
    except ValueError as exc:
        outage = as_unavailable(exc)
    assert outage is not None
    assert "RetryError" in outage.message


@pytest.mark.parametrize("error", [ValueError("bad"), KeyError("k"), gexc.BadRequest("nope")])
def test_other_errors_are_not_outages(error: Exception) -> None:
    assert as_unavailable(error) is None


def test_a_step_failing_on_an_outage_is_retryable_with_a_short_message() -> None:
    failure = classify(gexc.RetryError("Timeout of 1.0s exceeded", cause=None))
    assert failure.retryable
    assert failure.message.startswith("a Google Cloud service did not answer (RetryError: Timeout")


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (BadRequest("no such field"), False),
        (ConfigError("configs/x.yml", "steps[0]", "unknown ps_type"), False),
        (NotFound("run r not found"), False),
        (Conflict("already exists"), False),
        (Forbidden("suspended"), False),
        (Unauthorized("bad key"), False),
        (IllegalTransition("cannot go"), False),
        (QuotaExceeded("daily limit"), True),
        (DependencyUnavailable("BigQuery is unavailable"), True),
        (SecretBoxError("ciphertext is truncated"), False),  # unmarked: the data is wrong
        (StepFailure("rate limited", retryable=True), True),
        (StepFailure("bad rows"), False),
        (TimeoutError("step timed out after 5 s"), True),
        (ConnectionError("refused"), True),
        (KeyError("bug"), True),  # unexpected: retries are bounded and may help
    ],
)
def test_one_rule_decides_what_is_retried_and_redelivered(
    exc: BaseException, retryable: bool
) -> None:
    assert classify(exc).retryable is retryable


def test_every_user_error_is_marked_one_way_or_the_other() -> None:
    """A new PipelineError subclass must say whether it passes by itself."""
    import inspect

    from shared.domain import errors

    unmarked = {errors.PipelineError, errors.SecretBoxError}  # base; key/ciphertext faults
    for _, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.PipelineError) and cls not in unmarked:
            marks = (issubclass(cls, errors.Transient), issubclass(cls, errors.Terminal))
            assert marks.count(True) == 1, f"{cls.__name__} is marked {marks}"
