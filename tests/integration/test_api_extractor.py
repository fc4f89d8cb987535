"""generic.api_extractor end to end on the embedded runtime, against local servers that
speak GitHub's and Twilio's documented billing APIs and a listing paged every other way.

The GitHub and Twilio pipelines are the shipped configs (retries made fast); faults are
the GenAI tests' kinds: 429 with Retry-After, 5xx runs, a body cut short, a 401 that
echoes the key, a record that does not convert, rows outside the window.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.genai_sample_server import Scripted
from shared.domain.models import Run
from shared.domain.sql import table_ref
from shared.domain.states import RunStatus, StepStatus
from shared.handlers.credentials import set_credential
from shared.handlers.dispatch import RunRequest, dispatch_run
from tests.support.lineage import assert_ingestion_dates
from tests.support.runtime import REPO, make_runtime, new_org, write_configs
from tests.support.saas_api import (
    GENERIC_ITEMS_PER_DAY,
    GITHUB_PRODUCTS,
    TWILIO_CATEGORIES,
    SaasApiServer,
    github_usage,
    twilio_records,
)

pytestmark = pytest.mark.warehouse

GITHUB_TOKEN = "ghp_PLANTED_token_5f1c2e"
TWILIO_SID = "AC" + "7" * 32
TWILIO_TOKEN = "PLANTED_twilio_auth_9d8e"
START, END = date(2026, 11, 1), date(2026, 11, 3)
DAYS = (END - START).days + 1
STYLES = ("cursor", "page_number", "offset", "link_header")
GITHUB = "saas/github/billing/usage"
TWILIO = "saas/twilio/billing/usage_records"


def _shipped(key: str) -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load((REPO / "configs" / f"{key}.yml").read_text())
    for step in body["steps"]:
        step["retry"] = {"max_attempts": 1, "backoff_seconds": 0}
        step["config"].update(max_attempts=5, backoff_seconds=0.01, max_delay_seconds=2)
    return body


def _generic(style: str) -> dict[str, Any]:
    """A pipeline on /generic/items paged in ``style``, header-key auth."""
    paging: dict[str, dict[str, Any]] = {
        "cursor": {"type": "cursor", "cursor_path": "meta.next_cursor", "cursor_param": "cursor"},
        "page_number": {"type": "page_number", "size_param": "per_page", "page_size": 4},
        "offset": {"type": "offset", "size_param": "per_page", "page_size": 4},
        "link_header": {"type": "link_header"},
    }
    pagination = paging[style]
    body = copy.deepcopy(_shipped(GITHUB))
    body.update(pipeline_id=f"generic_{style}", provider="github", parameters={})
    body["steps"][0]["config"] = {
        "dataset": "{{org_dataset}}",
        "table": f"generic_items_{style}",
        "request": {
            "base_url": "https://vendor.example",
            "path": "/generic/items",
            "params": {"style": style, "since": "{start_date}", "until": "{end_date}"},
        },
        "auth": {"type": "header", "name": "X-Api-Key"},
        "pagination": pagination,
        "records_path": "data.items",
        "usage_date": "day",
        "columns": {
            "item_id": {"path": "id", "required": True},
            "day": {"path": "day", "type": "DATE"},
            "amount": {"path": "amount", "type": "NUMERIC"},
            "sku": {"path": "meta.sku"},
            "tags": {"path": "meta.tags", "type": "JSON"},
        },
        "max_attempts": 3,
        "backoff_seconds": 0.01,
        "max_delay_seconds": 2,
    }
    return body


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    twilio = _shipped(TWILIO)
    twilio["steps"][0]["config"]["pagination"]["page_size"] = 2  # several pages
    pipelines = {GITHUB: _shipped(GITHUB), TWILIO: twilio}
    pipelines |= {f"saas/github/billing/generic_{s}": _generic(s) for s in STYLES}
    return write_configs(tmp_path_factory.mktemp("saas"), pipelines)


@pytest.fixture
def server() -> Iterator[SaasApiServer]:
    srv = SaasApiServer(
        github_token=GITHUB_TOKEN,
        twilio_sid=TWILIO_SID,
        twilio_token=TWILIO_TOKEN,
        api_key=GITHUB_TOKEN,  # the generic pipelines use the github credential
    )
    with srv:
        yield srv


@pytest.fixture
def runtime(
    tmp_path: Path, configs: Path, session_warehouse: Any, server: SaasApiServer
) -> Iterator[EmbeddedRuntime]:
    with make_runtime(tmp_path, configs, warehouse=session_warehouse) as rt:
        new_org(rt, "acme")
        set_credential(rt.services, "acme", "github", GITHUB_TOKEN, base_url=server.url)
        secret = f"{TWILIO_SID}:{TWILIO_TOKEN}"
        set_credential(rt.services, "acme", "twilio", secret, base_url=server.url)
        yield rt


def _run(rt: EmbeddedRuntime, key: str, **parameters: Any) -> Run:
    org = rt.services.store.get_org("acme")
    assert org is not None
    provider, domain, pipeline = key.removeprefix("saas/").split("/")
    request = RunRequest("acme", provider, domain, pipeline, START, END, parameters)
    run = dispatch_run(rt.services, org, request)
    assert rt.bus.drain(120)
    final = rt.services.store.get_run("acme", run.run_id)
    assert final is not None
    return final


def _rows(rt: EmbeddedRuntime, table: str, select: str = "*") -> list[dict[str, Any]]:
    ref = table_ref(rt.warehouse.project_id, rt.settings.org_dataset("acme"), table)
    return rt.warehouse.query(f"SELECT {select} FROM {ref} WHERE x_org_slug = 'acme'")


def _step(run: Run) -> Any:
    (step,) = run.steps.values()
    return step


def test_github_billing_usage_lands_day_by_day_with_lineage_and_reruns_idempotently(
    runtime: EmbeddedRuntime, server: SaasApiServer
) -> None:
    run = _run(runtime, GITHUB, github_org="acme-corp")
    assert run.status == RunStatus.COMPLETED, run.error
    assert _step(run).rows_written == len(GITHUB_PRODUCTS) * DAYS
    asked = [r.query for r in server.requests_to("/organizations/acme-corp/settings/billing/usage")]
    assert [(q["year"], q["month"], q["day"]) for q in asked] == [
        (["2026"], ["11"], [str(d)]) for d in (1, 2, 3)
    ]
    rows = _rows(runtime, "github_billing_usage_raw")
    expected = sum(
        Decimal(str(i["netAmount"]))
        for d in range(DAYS)
        for i in github_usage("acme-corp", START + timedelta(days=d))
    )
    assert sum(r["net_amount"] for r in rows) == expected
    assert {r["usage_date"] for r in rows} == {START + timedelta(days=d) for d in range(DAYS)}
    assert all(r["x_run_id"] == run.run_id and r["x_source_system"] == "github" for r in rows)
    assert {r["x_pipeline_run_date"] for r in rows} == {r["usage_date"] for r in rows}
    written = assert_ingestion_dates(runtime.warehouse, runtime.settings.org_dataset("acme"))
    assert written["github_billing_usage_raw"] == len(rows)

    again = _run(runtime, GITHUB, github_org="acme-corp")
    assert again.status == RunStatus.COMPLETED
    rerun = _rows(runtime, "github_billing_usage_raw")
    assert len(rerun) == len(rows)  # the same slice replaced, not appended
    assert {r["x_run_id"] for r in rerun} == {again.run_id}


def test_twilio_usage_records_follow_next_page_uri_with_basic_auth(
    runtime: EmbeddedRuntime, server: SaasApiServer
) -> None:
    run = _run(runtime, TWILIO)
    assert run.status == RunStatus.COMPLETED, run.error
    records = len(TWILIO_CATEGORIES) * DAYS
    assert _step(run).rows_written == records
    assert _step(run).metrics["pages"] == (records + 1) // 2  # PageSize 2
    pages = server.requests_to(f"/2010-04-01/Accounts/{TWILIO_SID}/Usage/Records/Daily.json")
    assert [q.query.get("Page", ["0"])[0] for q in pages] == [str(i) for i in range(len(pages))]
    rows = _rows(runtime, "twilio_usage_records_raw")
    expected = sum(
        Decimal(r["price"])
        for d in range(DAYS)
        for r in twilio_records(TWILIO_SID, START + timedelta(days=d))
    )
    assert sum(r["price"] for r in rows) == expected
    assert {r["price_unit"] for r in rows} == {"usd"}


@pytest.mark.parametrize("style", STYLES)
def test_every_pagination_style_reads_every_record_once(
    runtime: EmbeddedRuntime, style: str
) -> None:
    run = _run(runtime, f"saas/github/billing/generic_{style}")
    assert run.status == RunStatus.COMPLETED, run.error
    rows = _rows(runtime, f"generic_items_{style}")
    assert len(rows) == GENERIC_ITEMS_PER_DAY * DAYS
    assert len({r["item_id"] for r in rows}) == len(rows)
    assert _step(run).metrics["pages"] > 1


def test_rate_limits_server_errors_and_cut_bodies_are_retried(
    runtime: EmbeddedRuntime, server: SaasApiServer
) -> None:
    path = "/organizations/acme-corp/settings/billing/usage"
    server.script(
        path,
        [
            Scripted(429, {"message": "API rate limit exceeded"}, {"Retry-After": "1"}),
            Scripted(502, {"message": "Server Error"}),
            Scripted(200, cut_at=20),  # the normal answer, cut short
        ],
    )
    run = _run(runtime, GITHUB, github_org="acme-corp")
    assert run.status == RunStatus.COMPLETED, run.error
    asked = server.requests_to(path)
    assert len(asked) == DAYS + 3
    assert asked[1].at - asked[0].at >= 0.9  # Retry-After honoured
    assert _step(run).rows_written == len(GITHUB_PRODUCTS) * DAYS


def test_a_rejected_key_fails_at_once_without_echoing_it(
    runtime: EmbeddedRuntime, server: SaasApiServer
) -> None:
    path = f"/2010-04-01/Accounts/{TWILIO_SID}/Usage/Records/Daily.json"
    server.script(path, [Scripted(401, {"message": f"bad token {TWILIO_TOKEN}"})])
    run = _run(runtime, TWILIO)
    assert run.status == RunStatus.FAILED
    step = _step(run)
    assert step.status == StepStatus.FAILED
    assert "HTTP 401" in (step.error or "")
    assert TWILIO_TOKEN not in (step.error or "")
    assert len(server.requests_to(path)) == 1  # a 4xx is not retried


def test_a_record_that_does_not_convert_fails_the_step_and_writes_nothing(
    runtime: EmbeddedRuntime, server: SaasApiServer
) -> None:
    key = "saas/github/billing/generic_cursor"
    assert _run(runtime, key).status == RunStatus.COMPLETED
    before = _rows(runtime, "generic_items_cursor", "item_id, x_run_id")
    server.extra_records.append({"id": "bad", "day": "2026-11-02", "amount": "twelve"})
    run = _run(runtime, key)
    assert run.status == RunStatus.FAILED
    error = _step(run).error or ""
    assert "record 3: field 'amount': 'twelve' is not a NUMERIC" in error
    assert "2026-11-01..2026-11-03 page 4" in error
    assert _rows(runtime, "generic_items_cursor", "item_id, x_run_id") == before


def test_rows_outside_the_window_are_counted_out_by_day_never_dropped_silently(
    runtime: EmbeddedRuntime, server: SaasApiServer
) -> None:
    server.extra_records.extend(
        {"id": f"late-{i}", "day": "2026-10-31", "amount": "1"} for i in range(2)
    )
    run = _run(runtime, "saas/github/billing/generic_offset")
    assert run.status == RunStatus.COMPLETED, run.error
    metrics = _step(run).metrics
    assert metrics["rows_read"] == GENERIC_ITEMS_PER_DAY * DAYS + 2
    assert metrics["rows_outside_window"] == 2
    assert metrics["days_outside_window"] == {"2026-10-31": 2}
    logs = [e.message for e in runtime.services.store.list_logs("acme", run.run_id)]
    assert any("counted out: 2 rows outside the window" in m for m in logs)


def test_a_run_whose_rows_all_fall_outside_the_window_completes_with_a_warning(
    runtime: EmbeddedRuntime, server: SaasApiServer
) -> None:
    path = "/organizations/acme-corp/settings/billing/usage"
    old = {"usageItems": github_usage("acme-corp", date(2026, 10, 1))}
    server.script(path, [Scripted(200, old) for _ in range(DAYS)])
    run = _run(runtime, GITHUB, github_org="acme-corp")
    assert run.status == RunStatus.COMPLETED
    step = _step(run)
    assert step.rows_written == 0
    assert "every row read is outside the run's window" in step.metrics["warning"]
    assert "2026-10-01: 12" in step.metrics["warning"]
