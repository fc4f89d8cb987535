"""BigQueryWarehouse turns client failures into our errors (no BigQuery needed)."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions as gexc

from shared.adapters.bigquery.warehouse import BigQueryWarehouse, job_should_restart
from shared.domain.errors import BadRequest, DependencyUnavailable, NotFound


class FailingClient:
    """Stands in for bigquery.Client: every query raises ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def query(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


def api_error(cls: Any, *args: Any, **kwargs: Any) -> BaseException:
    """An api_core exception (its constructors are unannotated, hence ``Any``)."""
    error: BaseException = cls(*args, **kwargs)
    return error


def warehouse_failing_with(error: BaseException) -> BigQueryWarehouse:
    return BigQueryWarehouse(FailingClient(error), "my-proj")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (api_error(gexc.BadRequest, "Syntax error: Unexpected keyword"), BadRequest),
        (api_error(gexc.NotFound, "Table my-proj.d.t was not found"), NotFound),
        (api_error(gexc.ServiceUnavailable, "backend down"), DependencyUnavailable),
        (api_error(gexc.InternalServerError, "oops"), DependencyUnavailable),
        (api_error(gexc.TooManyRequests, "slow down"), DependencyUnavailable),
        (api_error(gexc.RetryError, "deadline exceeded", cause=None), DependencyUnavailable),
        (ConnectionRefusedError("connection refused"), DependencyUnavailable),
        (
            api_error(
                gexc.Forbidden, "Exceeded rate limits", errors=[{"reason": "rateLimitExceeded"}]
            ),
            DependencyUnavailable,
        ),
    ],
)
def test_client_errors_are_translated(error: BaseException, expected: type[Exception]) -> None:
    with pytest.raises(expected) as caught:
        warehouse_failing_with(error).query("SELECT 1")
    assert caught.value.__cause__ is error


def test_bad_request_keeps_bigquery_message() -> None:
    with pytest.raises(BadRequest, match="Unexpected keyword SELEC"):
        warehouse_failing_with(api_error(gexc.BadRequest, "Unexpected keyword SELEC")).run_script(
            "SELEC"
        )


def test_a_permission_error_is_not_hidden() -> None:
    denied = api_error(gexc.Forbidden, "Access Denied", errors=[{"reason": "accessDenied"}])
    with pytest.raises(gexc.Forbidden):
        warehouse_failing_with(denied).query("SELECT 1")


def test_a_transaction_aborted_by_a_concurrent_update_is_run_again() -> None:
    aborted = api_error(
        gexc.BadRequest,
        "Query error: Transaction is aborted due to concurrent update against table"
        " p:acme_prod.cost_data_standard_1_3. Transaction ID: 61e3 at [24:9]",
    )
    assert job_should_restart(aborted)
    assert job_should_restart(api_error(gexc.RetryError, "gave up", aborted))
    # the client's own reasons still restart a job; a query error does not
    rate = api_error(gexc.Forbidden, "quota", errors=[{"reason": "rateLimitExceeded"}])
    assert job_should_restart(rate)
    assert not job_should_restart(api_error(gexc.BadRequest, "Syntax error: Unexpected ')'"))
    assert not job_should_restart(api_error(gexc.NotFound, "Table p:d.t was not found"))
