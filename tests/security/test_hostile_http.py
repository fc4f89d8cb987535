"""Hostile names in paths and bodies, huge and malformed bodies, against the real API.

Every refusal is a 400/404 (413 for size) in the one error shape with a message that
says what was wrong, and leaves the state store and the warehouse exactly as they were.
A valid pipeline planted just outside configs/ must stay unreachable.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from google.cloud import bigquery
from werkzeug.test import TestResponse

from shared.entrypoints.http.bodies import MAX_BODY_BYTES
from shared.entrypoints.http.document import openapi_document
from tests.support.hostile_api import PIPELINE, ROOT_KEY, Api, open_api

pytestmark = pytest.mark.warehouse


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory, session_warehouse: Any, bq_client: bigquery.Client
) -> Iterator[Api]:
    with open_api(tmp_path_factory, session_warehouse, bq_client) as opened:
        yield opened


# Names an attacker might put where an org, provider, domain or pipeline goes.
HOSTILE = [
    "..",
    "../outside",
    "../../etc/passwd",
    "..\\..\\outside",
    "%2e%2e",
    "%2e%2e%2foutside",
    "%252e%252e%252f",
    "sub`scription",
    "sub'scription",
    'sub"scription',
    "costs; DROP TABLE x",
    "costs' OR '1'='1",
    "\u0455ubscription",  # Cyrillic dze: looks like "subscription"
    "\uff53ubscription",  # fullwidth s
    "subscription\u200b",  # zero-width space
    "subscription\x00",
    "subscription\n",
    "SUBSCRIPTION",
    "a" * 5000,
]


def _url(*segments: str) -> str:
    return "/" + "/".join(quote(s, safe="") for s in segments)


def _assert_refused(response: TestResponse, statuses: tuple[int, ...] = (400, 404)) -> str:
    assert response.status_code in statuses, (response.status_code, response.get_data()[:300])
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] in ("bad_request", "not_found", "payload_too_large"), error
    assert error["message"]
    assert len(error["message"]) < 1000, "a huge name must not be echoed back whole"
    return str(error["message"])


@pytest.fixture
def unchanged(api: Api) -> Iterator[None]:
    """The test body may refuse anything it likes; nothing may be written meanwhile."""
    before = api.snapshot()
    yield
    assert api.snapshot() == before


@pytest.fixture(scope="module")
def planted(api: Api) -> Path:
    """A valid pipeline just outside configs/, where ../ would find it."""
    outside = api.configs.parent / "outside" / "costs"
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "quick.yml").write_text(yaml.safe_dump({**PIPELINE, "provider": "outside"}))
    return outside


# -- names in the path -------------------------------------------------------------------
@pytest.mark.parametrize("slot", ["provider", "domain", "pipeline"])
@pytest.mark.usefixtures("unchanged", "planted")
def test_hostile_pipeline_names_in_run_and_backfill_paths(api: Api, slot: str) -> None:
    for name, route in itertools.product(HOSTILE, ("run", "backfill")):
        parts = {"provider": "subscription", "domain": "costs", "pipeline": "quick"} | {slot: name}
        segments = (parts["provider"], parts["domain"], parts["pipeline"])
        body = {"date": "2026-10-02"} if route == "run" else _backfill_body()
        response = api.client.post(
            _url("api", "v1", "pipelines", route, api.org, *segments),
            json=body,
            headers={"X-API-Key": api.key},
        )
        message = _assert_refused(response)
        if response.status_code == 400:
            assert f"invalid {slot} name" in message, (name, message)


@pytest.mark.usefixtures("unchanged")
def test_hostile_org_in_every_org_path(api: Api) -> None:
    """Every route with {org}: the slug is checked before any read (400 naming it)."""
    ops = [
        (method.upper(), path)
        for path, item in openapi_document()["paths"].items()
        for method in item
        if "{org}" in path
    ]
    assert len(ops) >= 13
    fill = {
        "provider": "subscription",
        "domain": "costs",
        "pipeline": "quick",
        "run_id": api.run_id,
        "backfill_id": "b1",
    }
    for name, (method, path) in itertools.product(HOSTILE, ops):
        segments = [
            name if s == "{org}" else fill.get(s.strip("{}"), s) for s in path.split("/")[1:]
        ]
        response = api.client.open(
            _url(*segments), method=method, json={}, headers={"X-API-Key": api.key}
        )
        message = _assert_refused(response)
        assert "org_slug must be" in message or "no route" in message, (path, message)


@pytest.mark.usefixtures("unchanged", "planted")
def test_hostile_provider_in_catalog_path(api: Api) -> None:
    for name in HOSTILE:
        response = api.client.get(_url("api", "v1", "validator", "pipelines", name))
        message = _assert_refused(response, (404,))
        assert "not in the registry" in message or "no route" in message


RAW_PATHS = [
    # Raw dot segments and encoded slashes: the router sees them, not a file system.
    "/api/v1/pipelines/run/{org}/../outside/costs/quick",
    "/api/v1/pipelines/run/{org}/subscription/costs/..%2f..%2foutside%2fcosts%2fquick",
    "/api/v1/pipelines/run/{org}/%2e%2e/outside/costs/quick",
    "/api/v1/pipelines/run/{org}/subscription/costs/quick%00.yml",
    "/api/v1/pipelines/run/{org}/subscription/costs/quick/../../../../outside/costs/quick",
    "/api/v1/pipelines/run/{org}/subscription/costs/%0Aquick",
    "/api/v1/pipelines/run/{org}//subscription/costs/quick",
    "/api/v1/validator/pipelines/..%2f..%2f",
    "/api/v1/migrations/..%2f..%2fetc%2fpasswd/execute",
    "/api/v1/migrations/../../etc/passwd/execute",
]


@pytest.mark.usefixtures("unchanged", "planted")
def test_raw_traversal_paths_reach_nothing(api: Api) -> None:
    for path in RAW_PATHS:
        response = api.client.post(
            path.format(org=api.org),
            json={"date": "2026-10-02"},
            headers={"X-API-Key": api.key, "X-CA-Root-Key": ROOT_KEY},
        )
        _assert_refused(response, (400, 404, 405))


# -- names in bodies and queries ---------------------------------------------------------
@pytest.mark.usefixtures("unchanged", "planted")
def test_hostile_names_in_bodies_and_queries(api: Api) -> None:
    for name in HOSTILE:
        _hostile_bodies_and_queries(api, name)


def _hostile_bodies_and_queries(api: Api, name: str) -> None:
    keyed = {"X-API-Key": api.key}
    root = {"X-CA-Root-Key": ROOT_KEY}
    ref = f"subscription/{name}/quick"
    calls: list[tuple[str, str, Any, dict[str, str]]] = [
        ("POST", f"/api/v1/validator/validate/{api.org}", {"pipeline": ref}, keyed),
        (
            "POST",
            "/api/v1/scheduler/schedules",
            {"org_slug": api.org, "pipeline": ref, "cron": "0 3 * * *"},
            root,
        ),
        ("POST", "/api/v1/scheduler/schedules", {"org_slug": name, "pipeline": ref}, root),
        ("POST", "/api/v1/procedures/sync", {"org": name}, root),
        ("POST", "/api/v1/migrations/001_x/execute", {"org": name}, root),
        ("POST", "/api/v1/scheduler/trigger", {"schedule_id": name}, root),
        ("POST", f"/api/v1/pipelines/cancel/{api.org}/{quote(name, safe='')}", {}, keyed),
    ]
    for method, url, body, headers in calls:
        response = api.client.open(url, method=method, json=body, headers=headers)
        _assert_refused(response)
    for url, headers in (
        (f"/api/v1/procedures?org={quote(name, safe='')}", root),
        (f"/api/v1/pipelines/status/{api.org}/{quote(name, safe='')}", keyed),
        (f"/api/v1/pipelines/logs/{api.org}/{quote(name, safe='')}/download", keyed),
    ):
        _assert_refused(api.client.get(url, headers=headers))
    # Filters are bound parameters: a hostile provider or org filter finds nothing.
    for url, headers in (
        (f"/api/v1/pipelines/history/{api.org}?provider={quote(name, safe='')}", keyed),
        (f"/api/v1/scheduler/schedules?org={quote(name, safe='')}", root),
    ):
        response = api.client.get(url, headers=headers)
        if response.status_code != 200:  # an org filter is checked as a slug
            assert "org_slug must be" in _assert_refused(response, (400,))
            continue
        assert not any(v for v in response.get_json().values() if isinstance(v, list))


def test_the_planted_file_really_is_valid_and_only_traversal_would_reach_it(
    api: Api, planted: Path
) -> None:
    """Control: the planted config is a valid pipeline; only its location keeps it out."""
    assert (planted / "quick.yml").is_file()
    assert "outside/costs/quick" not in set(api.runtime.services.catalog.keys())
    listed = api.client.get("/api/v1/validator/pipelines").get_json()
    assert all("outside" not in p["pipeline"] for p in listed["pipelines"])


# -- huge and malformed bodies -----------------------------------------------------------
BODY_OPERATIONS = [
    (method.upper(), path)
    for path, item in openapi_document()["paths"].items()
    for method, op in item.items()
    if "requestBody" in op
]


class CountingStream(io.RawIOBase):
    """``size`` bytes of ``{"x": "aaaa...`` made on demand (never held whole); counts the
    bytes the server reads. Seekable because werkzeug's test client measures it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pos = 0
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        return self.pos

    def readinto(self, buffer: Any) -> int:
        n = max(0, min(len(buffer), self.size - self.pos))
        head = b'{"x": "'[self.pos : self.pos + n]
        buffer[:n] = head + b"a" * (n - len(head))
        self.pos += n
        self.read_bytes += n
        return n


def _fill(path: str, api: Api) -> str:
    fill = {
        "org": api.org,
        "provider": "subscription",
        "domain": "costs",
        "pipeline": "quick",
        "run_id": api.run_id,
        "schedule_id": "s1",
        "name": "001_x",
    }
    for key, value in fill.items():
        path = path.replace("{" + key + "}", value)
    return path


@pytest.mark.usefixtures("unchanged")
def test_a_20mb_body_is_413_after_reading_at_most_the_limit(api: Api) -> None:
    for method, path in BODY_OPERATIONS:
        stream = CountingStream(20 * 1024 * 1024)
        response = api.client.open(
            _fill(path, api),
            method=method,
            input_stream=stream,
            headers={
                "X-API-Key": api.key,
                "X-CA-Root-Key": ROOT_KEY,
                "Content-Type": "application/json",
                "Content-Length": str(stream.size),
            },
        )
        message = _assert_refused(response, (413,))
        assert f"larger than {MAX_BODY_BYTES} bytes" in message
        # werkzeug reads in chunks: at most one past the limit, never the 20 MB
        assert stream.read_bytes <= MAX_BODY_BYTES + 64 * 1024, (path, stream.read_bytes)


MALFORMED = [
    (b'{"date": "2026-10-02"', "body is not valid JSON: Expecting"),
    (b"{'date': '2026-10-02'}", "body is not valid JSON: Expecting property name"),
    (b'{"date": 2026-10-02}', "body is not valid JSON"),
    (b"\xff\xfe{}", "body is not valid JSON"),
    (b"[1, 2]", "body must be a JSON object"),
    (b'"a string"', "body must be a JSON object"),
    (b"null", "body must be a JSON object"),
    (b"[" * 30_000 + b"]" * 30_000, "body is nested too deeply"),
    (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "body is nested too deeply"),
]


@pytest.mark.usefixtures("unchanged")
def test_malformed_json_is_400_naming_the_problem(api: Api) -> None:
    for (data, says), (method, path) in itertools.product(MALFORMED, BODY_OPERATIONS):
        response = api.client.open(
            _fill(path, api),
            method=method,
            data=data,
            content_type="application/json",
            headers={"X-API-Key": api.key, "X-CA-Root-Key": ROOT_KEY},
        )
        message = _assert_refused(response, (400,))
        assert says in message, (path, data[:20], message)


def _backfill_body() -> dict[str, Any]:
    return {"start_date": "2026-10-01", "end_date": "2026-10-03"}
