"""Malformed provider pages into the OpenAI / Anthropic Admin API extractors.

The real processors fetch real HTTP pages from the local sample server; page 2 of a
four-page window is replaced by something broken. The step must fail with a message
naming the page (and bucket, row and field where there is one), and the window's slice in
the raw table must be exactly what a good earlier run left there: nothing written. A page 2
that sends a result of page 1 again fails too (retryably), while one that adds a result to
page 1's last day under another group key is read as new data. A body that is not complete
JSON (cut short by a dropped connection or a proxy) is transient: fetched again, and only
a page that stays so fails, after its retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.demo.genai_sample_server import (
    SampleGenAIServer,
    Scripted,
    anthropic_costs,
    anthropic_usage,
    openai_costs,
    openai_usage,
)
from shared.domain.credentials import Credential, Secret
from shared.domain.errors import StepFailure
from shared.domain.genai import (
    COSTS_RAW_COLUMNS,
    COSTS_RAW_TABLE,
    USAGE_RAW_COLUMNS,
    USAGE_RAW_TABLE,
)
from shared.domain.sql import table_ref
from shared.domain.states import RunStatus
from shared.ports import Warehouse
from shared.processors.base import StepContext
from shared.processors.genai_admin import AnthropicAdminReport, OpenAIAdminReport
from tests.support.runtime import stored_run

pytestmark = pytest.mark.warehouse

OPENAI_KEY = "sk-admin-openai-malformed-3c1d"
ANTHROPIC_KEY = "sk-ant-admin01-malformed-77aa"
DATASET = "hostile_pages_test"
START, END = date(2026, 10, 1), date(2026, 10, 10)  # 10 daily buckets, 3 a page: 4 pages
_PAGES = 4
OCT_4 = int(datetime(2026, 10, 4, tzinfo=UTC).timestamp())  # page 2's first bucket

# (processor, report, path of its first endpoint, position label in messages)
TARGETS = {
    "openai-usage": (OpenAIAdminReport, "usage", "/v1/organization/usage/completions"),
    "openai-costs": (OpenAIAdminReport, "costs", "/v1/organization/costs"),
    "anthropic-usage": (AnthropicAdminReport, "usage", "/v1/organizations/usage_report/messages"),
    "anthropic-costs": (AnthropicAdminReport, "costs", "/v1/organizations/cost_report"),
}
LABELS = {
    "openai-usage": "usage/completions",
    "openai-costs": "costs",
    "anthropic-usage": "usage_report/messages",
    "anthropic-costs": "cost_report",
}


def _page(bucket: dict[str, Any], *, more: bool = False, cursor: str | None = None) -> Any:
    return {"object": "page", "data": [bucket], "has_more": more, "next_page": cursor}


def _openai(results: list[Any]) -> dict[str, Any]:
    return {"start_time": OCT_4, "results": results}


def _anthropic(results: list[Any]) -> dict[str, Any]:
    return {"starting_at": "2026-10-04T00:00:00Z", "results": results}


# Whatever the endpoint: the page, then the text its failure must contain.
ANY_ENDPOINT: list[tuple[str, Any, str]] = [
    ("top-level list", [1, 2], "page 2: expected a JSON object, got list"),
    ("data not a list", {"data": "nope"}, "page 2: 'data' is missing or not a list"),
    ("data missing", {"has_more": False}, "page 2: 'data' is missing or not a list"),
    ("has_more a string", {"data": [], "has_more": "yes"}, "page 2: 'has_more' is not a boolean"),
    (
        "more without cursor",
        {"data": [], "has_more": True, "next_page": None},
        "page 2: 'has_more' is true but 'next_page' is empty",
    ),
    (
        "cursor loop",  # page 1 sent page_3; page 2 sends it again
        {"data": [], "has_more": True, "next_page": "page_3"},
        "page 2: next_page repeats an earlier cursor",
    ),
    ("bucket not an object", {"data": ["x"], "has_more": False}, "page 2 bucket 0:"),
]
OPENAI_USAGE: list[tuple[str, Any, str]] = [
    ("no start_time", _page({"results": []}), "bucket 0: start_time is not a Unix timestamp"),
    ("results missing", _page({"start_time": OCT_4}), "bucket 0: 'results' is missing"),
    ("result a string", _page(_openai(["x"])), "bucket 0 row 0: result is not an object"),
    (
        "negative tokens",
        _page(_openai([{"input_tokens": 10, "output_tokens": -5}])),
        "bucket 0 row 0: output_tokens is not a non-negative number: -5",
    ),
    (
        "NaN tokens",
        f'{{"data": [{{"start_time": {OCT_4}, "results": [{{"output_tokens": NaN}}]}}]}}',
        "bucket 0 row 0: output_tokens is not a whole number: nan",
    ),
    (
        "Infinity tokens",
        f'{{"data": [{{"start_time": {OCT_4}, "results": [{{"input_tokens": Infinity}}]}}]}}',
        "bucket 0 row 0: input_tokens is not a whole number: inf",
    ),
    (
        "fractional tokens",
        _page(_openai([{"input_tokens": 1.5}])),
        "bucket 0 row 0: input_tokens is not a whole number: 1.5",
    ),
    (
        "tokens past INT64",
        _page(_openai([{"input_tokens": 2**63}])),
        "bucket 0 row 0: input_tokens is too large: 9223372036854775808",
    ),
    (
        "tokens a string",
        _page(_openai([{"input_tokens": "10"}])),
        "bucket 0 row 0: input_tokens is not a non-negative number: '10'",
    ),
    (
        "cached above total",
        _page(_openai([{"input_tokens": 1, "input_cached_tokens": 2}])),
        "bucket 0 row 0: input_cached_tokens exceeds input_tokens",
    ),
    (
        "model a number",
        _page(_openai([{"input_tokens": 1, "model": 4}])),
        "bucket 0 row 0: model is not a string",
    ),
    (
        "bucket outside the window",
        _page({"start_time": OCT_4 + 30 * 86400, "results": []}),
        "bucket 0: bucket starts 2026-11-03T00:00:00Z, outside the run's",
    ),
]
OPENAI_COSTS: list[tuple[str, Any, str]] = [
    ("amount missing", _page(_openai([{}])), "bucket 0 row 0: 'amount' is missing"),
    (
        "amount NaN",
        f'{{"data": [{{"start_time": {OCT_4}, "results": '
        '[{"amount": {"value": NaN, "currency": "usd"}}]}]}',
        "bucket 0 row 0: amount 'nan' is not finite",
    ),
    (
        "amount text",
        _page(_openai([{"amount": {"value": "12,5", "currency": "usd"}}])),
        "bucket 0 row 0: amount '12,5' is not a decimal number",
    ),
    (
        "currency wrong",
        _page(_openai([{"amount": {"value": 1, "currency": "dollars"}}])),
        "bucket 0 row 0: amount.currency is not a currency code",
    ),
]
ANTHROPIC_USAGE: list[tuple[str, Any, str]] = [
    ("no starting_at", _page({"results": []}), "bucket 0: starting_at None is not an RFC 3339"),
    (
        "starting_at without zone",
        _page({"starting_at": "2026-10-04T00:00:00", "results": []}),
        "bucket 0: starting_at '2026-10-04T00:00:00' has no time zone",
    ),
    (
        "negative cache tokens",
        _page(_anthropic([{"cache_creation": {"ephemeral_5m_input_tokens": -1}}])),
        "bucket 0 row 0: ephemeral_5m_input_tokens is not a non-negative number: -1",
    ),
    (
        "cache_creation a list",
        _page(_anthropic([{"cache_creation": [1]}])),
        "bucket 0 row 0: cache_creation/server_tool_use is not an object",
    ),
    (
        "NaN output",
        '{"data": [{"starting_at": "2026-10-04T00:00:00Z", "results": [{"output_tokens": NaN}]}]}',
        "bucket 0 row 0: output_tokens is not a whole number: nan",
    ),
]
ANTHROPIC_COSTS: list[tuple[str, Any, str]] = [
    (
        "amount a number",
        _page(_anthropic([{"amount": 12, "currency": "USD"}])),
        "bucket 0 row 0: amount is not a decimal string",
    ),
    (
        "amount NaN",
        _page(_anthropic([{"amount": "NaN", "currency": "USD"}])),
        "bucket 0 row 0: amount 'NaN' is not finite",
    ),
    (
        "amount past NUMERIC",
        _page(_anthropic([{"amount": "1e40", "currency": "USD"}])),
        "bucket 0 row 0: amount '1e40' is out of range",
    ),
    (
        "currency missing",
        _page(_anthropic([{"amount": "1.00"}])),
        "bucket 0 row 0: currency is not a currency code",
    ),
]
CASES = [(target, name, page, says) for target in TARGETS for name, page, says in ANY_ENDPOINT] + [
    (target, name, page, says)
    for target, cases in (
        ("openai-usage", OPENAI_USAGE),
        ("openai-costs", OPENAI_COSTS),
        ("anthropic-usage", ANTHROPIC_USAGE),
        ("anthropic-costs", ANTHROPIC_COSTS),
    )
    for name, page, says in cases
]


@pytest.fixture(scope="module")
def server() -> Iterator[SampleGenAIServer]:
    with SampleGenAIServer(openai_key=OPENAI_KEY, anthropic_key=ANTHROPIC_KEY, page_size=3) as srv:
        yield srv


@pytest.fixture(scope="module")
def warehouse(session_warehouse: Warehouse, server: SampleGenAIServer) -> Warehouse:
    """The raw tables, each holding a good run of the window."""
    session_warehouse.ensure_dataset(DATASET)
    session_warehouse.ensure_table(DATASET, USAGE_RAW_TABLE, USAGE_RAW_COLUMNS)
    session_warehouse.ensure_table(DATASET, COSTS_RAW_TABLE, COSTS_RAW_COLUMNS)
    for target in TARGETS:
        _run(session_warehouse, server, target)
    return session_warehouse


@pytest.fixture(scope="module")
def baseline(warehouse: Warehouse) -> dict[str, list[dict[str, Any]]]:
    """Each target's slice after the good run: what every failed run must leave."""
    return {target: _slice(warehouse, target) for target in TARGETS}


def _run(
    warehouse: Warehouse, server: SampleGenAIServer, target: str, *, max_attempts: int = 1
) -> int:
    processor, report, _ = TARGETS[target]
    provider = "openai" if processor is OpenAIAdminReport else "anthropic"
    at = datetime(2026, 10, 11, tzinfo=UTC)
    run = stored_run(
        f"run-{target}",
        f"genai/payg/{provider}",
        [],
        at,
        org="hostile_pages",
        days=(START, END),
        status=RunStatus.RUNNING,
        credential_id=f"cred-{provider}",
    )
    credential = Credential(
        provider=provider,
        credential_id=run.credential_id,
        api_key=Secret(OPENAI_KEY if provider == "openai" else ANTHROPIC_KEY),
        base_url=server.openai_base_url if provider == "openai" else server.anthropic_base_url,
    )
    config: dict[str, Any] = {"report": report, "dataset": DATASET, "page_limit": 3}
    config |= {"max_attempts": max_attempts, "backoff_seconds": 0, "http_timeout_seconds": 2}
    if target == "openai-usage":
        config["endpoints"] = ["completions"]
    ctx = StepContext(
        run=run,
        step_id=f"extract_{report}",
        config=config,
        variables={},
        warehouse=warehouse,
        log=lambda _: None,
        should_stop=lambda: False,
        source_system=provider,
        credential=lambda: credential,
    )
    return processor().run(ctx).rows_written


def _slice(warehouse: Warehouse, target: str) -> list[dict[str, Any]]:
    """Every row of the target's slice, as stored (order-independent)."""
    table = USAGE_RAW_TABLE if target.endswith("usage") else COSTS_RAW_TABLE
    ref = table_ref(warehouse.project_id, DATASET, table)
    rows = warehouse.query(
        f"SELECT * EXCEPT (x_ingested_at, x_ingestion_date) FROM {ref}"
        " WHERE x_credential_id = @cred",
        {"cred": f"cred-{target.split('-')[0]}"},
    )
    return sorted(rows, key=repr)


@dataclass
class Endpoint:
    """One target of the module's server, with its good slice (``baseline``)."""

    target: str
    warehouse: Warehouse
    server: SampleGenAIServer
    baseline: list[dict[str, Any]]

    @property
    def path(self) -> str:
        return TARGETS[self.target][2]

    @property
    def label(self) -> str:
        return LABELS[self.target]

    def run(self, *, max_attempts: int = 1) -> int:
        return _run(self.warehouse, self.server, self.target, max_attempts=max_attempts)

    def fails(self, *responses: Scripted | None, max_attempts: int = 1) -> StepFailure:
        """Serve ``responses`` in turn (None: the page as usual), run, and return the step's
        failure, whose message names no key."""
        self.server.script(self.path, list(responses))
        with pytest.raises(StepFailure) as failure:
            self.run(max_attempts=max_attempts)
        message = str(failure.value)
        assert OPENAI_KEY not in message
        assert ANTHROPIC_KEY not in message
        return failure.value

    def assert_untouched(self) -> None:
        assert _slice(self.warehouse, self.target) == self.baseline


@pytest.fixture(params=list(TARGETS))
def endpoint(
    request: pytest.FixtureRequest,
    warehouse: Warehouse,
    baseline: dict[str, list[dict[str, Any]]],
    server: SampleGenAIServer,
) -> Endpoint:
    return Endpoint(request.param, warehouse, server, baseline[request.param])


def test_the_baseline_runs_wrote_every_page(
    baseline: dict[str, list[dict[str, Any]]], server: SampleGenAIServer
) -> None:
    for target, (_, _, path) in TARGETS.items():
        assert len(server.requests_to(path)) >= 4, target  # ceil(10 / 3) pages
        rows = baseline[target]
        assert rows, target
        assert {r["x_pipeline_run_date"] for r in rows} <= {date(2026, 10, d) for d in range(1, 11)}


def test_malformed_pages_fail_the_step_naming_them_and_write_nothing(endpoint: Endpoint) -> None:
    """Every case for one endpoint, then one look at its slice (a query costs ~0.3 s):
    a failed run that wrote anything would have replaced the slice with its rows."""
    cases = [(name, page, says) for t, name, page, says in CASES if t == endpoint.target]
    assert len(cases) >= len(ANY_ENDPOINT) + 3
    for name, page, says in cases:
        failure = endpoint.fails(None, Scripted(200, page))  # page 1 as usual, then the bad one
        message = str(failure)
        assert f"{endpoint.label} page 2" in message, (name, message)
        assert says in message, (name, message)
        assert not failure.retryable, name  # the same page would fail again
    endpoint.assert_untouched()


# -- transient faults: retried like a 5xx ------------------------------------------------
NOT_JSON = {
    "truncated": '{"object": "page", "data": [{"start_ti',
    "html": "<html>502 Bad Gateway</html>",
}


# Transient faults of one response: a body that is not complete JSON, a connection dropped
# mid-body, a response slower than the client's read timeout (2 s in these runs).
TRANSIENT_FAULTS = {
    "truncated JSON": Scripted(200, NOT_JSON["truncated"]),
    "HTML error page": Scripted(200, NOT_JSON["html"]),
    "connection dropped mid-body": Scripted(200, cut_at=40),
    "read timeout": Scripted(200, stall_seconds=3),
}


@pytest.mark.parametrize("fault", list(TRANSIENT_FAULTS))
def test_a_transient_fault_once_is_retried_and_the_slice_is_exact(
    endpoint: Endpoint, fault: str
) -> None:
    before = len(endpoint.server.requests_to(endpoint.path))
    endpoint.server.script(endpoint.path, [None, TRANSIENT_FAULTS[fault]])  # page 2 fails once
    endpoint.run(max_attempts=3)
    pages = len(endpoint.server.requests_to(endpoint.path)) - before
    assert pages == _PAGES + 1, endpoint.target  # page 2 twice
    endpoint.assert_untouched()


# A fault that lasts: the response each attempt gets, and what the failure calls it.
LASTING_FAULTS = {
    "cut short": (Scripted(200, NOT_JSON["truncated"]), "malformed page (not JSON)"),
    "connection dropped": (Scripted(200, cut_at=40), "RemoteProtocolError"),
}


@pytest.mark.parametrize("fault", list(LASTING_FAULTS))
def test_a_page_that_stays_broken_fails_after_its_retries_and_writes_nothing(
    endpoint: Endpoint, fault: str
) -> None:
    response, named = LASTING_FAULTS[fault]
    failure = endpoint.fails(None, *[response] * 3, max_attempts=3)
    message = str(failure)
    assert f"{endpoint.label} page 2: gave up after 3 attempts" in message, message
    assert named in message, message
    assert failure.retryable  # transient: a later attempt of the step may succeed
    endpoint.assert_untouched()


# -- results sent twice --------------------------------------------------------------------
OCT_3 = date(2026, 10, 3)  # page 1's last day
# Each target's sample results for a day, and a group field that tells its results apart.
RESULTS = {
    "openai-usage": (lambda day: openai_usage("completions", day), "model"),
    "openai-costs": (openai_costs, "line_item"),
    "anthropic-usage": (anthropic_usage, "model"),
    "anthropic-costs": (anthropic_costs, "description"),
}


def _bucket(target: str, day: date, results: list[dict[str, Any]]) -> dict[str, Any]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    if target.startswith("openai"):
        return {"start_time": int(start.timestamp()), "results": results}
    return {"starting_at": f"{start:%Y-%m-%dT%H:%M:%SZ}", "results": results}


def _page_2(target: str, *buckets: dict[str, Any]) -> dict[str, Any]:
    """Page 2 (the days of 4 to 6 as the server has them, after ``buckets``), pointing on to
    page 3 as the server would."""
    daily, _ = RESULTS[target]
    days = [_bucket(target, date(2026, 10, d), daily(date(2026, 10, d))) for d in (4, 5, 6)]
    return {"data": [*buckets, *days], "has_more": True, "next_page": "page_6"}


def test_a_result_repeated_on_a_later_page_fails_retryably_and_writes_nothing(
    endpoint: Endpoint,
) -> None:
    target = endpoint.target
    daily, field = RESULTS[target]
    again = daily(OCT_3)[1]  # page 1 bucket 2 row 1, sent again
    fresh = _bucket(target, date(2026, 10, 4), daily(date(2026, 10, 4)))
    page = {"data": [fresh, _bucket(target, OCT_3, [again])], "has_more": True}
    page["next_page"] = "page_6"
    failure = endpoint.fails(None, Scripted(200, page))
    message = str(failure)
    assert message.startswith(
        f"repeated result: {endpoint.label} page 2 bucket 1 row 0: repeats the result at "
        "page 1 bucket 2 row 1 (bucket 2026-10-03T00:00:00Z, "
    ), message
    account = "project_id" if target.startswith("openai") else "workspace_id"
    assert f"{account}={again[account]!r}" in message
    assert f"{field}={again[field]!r}" in message
    assert failure.retryable  # a paging glitch: the next attempt may read it right
    endpoint.assert_untouched()


def test_the_same_day_with_another_group_key_on_a_later_page_is_new_data(
    endpoint: Endpoint,
) -> None:
    target = endpoint.target
    daily, field = RESULTS[target]
    other = {**daily(OCT_3)[1], field: f"{daily(OCT_3)[1][field]}-extra"}  # one field differs
    page_2 = _page_2(target, _bucket(target, OCT_3, [other]))
    endpoint.server.script(endpoint.path, [None, Scripted(200, page_2)])
    written = endpoint.run()

    rows = _slice(endpoint.warehouse, target)
    extra = [r for r in rows if "-extra" in f"{r.get('model')}{r.get('line_item')}"]
    assert extra, target
    assert {r["x_pipeline_run_date"] for r in extra} == {OCT_3}
    assert [r for r in rows if r not in extra] == endpoint.baseline
    assert written == len(rows)
    endpoint.run()  # a good run puts the slice back for the other tests
    endpoint.assert_untouched()
