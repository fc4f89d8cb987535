"""OpenAI and Anthropic pipelines over HTTP against the local sample server, end to end.

Dispatcher -> runner -> coordinator on the embedded runtime; the processors fetch real
HTTP pages (multi-page), the procedures write FOCUS rows. The pipelines are the real
configs with fast retry settings (the real ones wait seconds between attempts).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.genai_sample_server import (
    OPENAI_METER_COSTS,
    SampleGenAIServer,
    Scripted,
    anthropic_costs,
    anthropic_usage,
    openai_costs,
    openai_usage,
)
from shared.domain.focus import COST_TABLE
from shared.domain.genai import (
    COSTS_RAW_TABLE,
    UNIFIED_DAILY_TABLE,
    USAGE_DAILY_TABLE,
    USAGE_RAW_TABLE,
)
from shared.domain.models import Run
from shared.domain.states import RunStatus, StepStatus
from shared.handlers.credentials import set_credential
from tests.support.lineage import assert_ingestion_dates
from tests.support.runtime import fast_pipeline, new_org, org_table, run_to_end

OPENAI_KEY = "sk-admin-openai-PLANTED-7f3a9c"
ANTHROPIC_KEY = "sk-ant-admin01-PLANTED-b81e44"
CENT = Decimal("0.01")


PIPELINES = {
    f"genai/payg/{p}": fast_pipeline(
        f"genai/payg/{p}", attempts=1, backoff=0, page_attempts=3, page_delay=2
    )
    for p in ("openai", "anthropic", "deepseek")
}
UNIFIED = "genai/unified/consolidate"
PIPELINES[UNIFIED] = fast_pipeline(UNIFIED, attempts=1, backoff=0)
pytestmark = [pytest.mark.warehouse, pytest.mark.pipelines(PIPELINES)]


@pytest.fixture
def server() -> Iterator[SampleGenAIServer]:
    with SampleGenAIServer(openai_key=OPENAI_KEY, anthropic_key=ANTHROPIC_KEY, page_size=7) as srv:
        yield srv


def _org(rt: EmbeddedRuntime, slug: str, server: SampleGenAIServer) -> str:
    """A new org whose OpenAI and Anthropic credentials point at ``server``; its slug."""
    new_org(rt, slug)
    set_credential(rt.services, slug, "openai", OPENAI_KEY, base_url=server.openai_base_url)
    set_credential(
        rt.services, slug, "anthropic", ANTHROPIC_KEY, base_url=server.anthropic_base_url
    )
    return slug


def _run(rt: EmbeddedRuntime, slug: str, vendor: str, start: date, end: date) -> Run:
    return run_to_end(rt, slug, f"genai/payg/{vendor}", start, end)


def _run_both(rt: EmbeddedRuntime, slug: str, start: date, end: date) -> list[Run]:
    """The OpenAI then the Anthropic pipeline over the days, each completed."""
    runs = [_run(rt, slug, vendor, start, end) for vendor in ("openai", "anthropic")]
    for run in runs:
        assert run.status is RunStatus.COMPLETED, run.error
    return runs


def _failed_step_error(run: Run, step_id: str) -> str:
    """The error of step ``step_id`` of ``run``, which failed."""
    assert run.status is RunStatus.FAILED
    error = run.steps[step_id].error
    assert error is not None
    return error


def _query(
    rt: EmbeddedRuntime, slug: str, table: str, select: str, tail: str = ""
) -> list[dict[str, Any]]:
    ref = org_table(rt, slug, table)
    return rt.warehouse.query(
        f"SELECT {select} FROM {ref} WHERE x_org_slug = @org {tail}", {"org": slug}
    )


def _focus_by_day(rt: EmbeddedRuntime, slug: str) -> dict[tuple[str, date], Decimal]:
    rows = _query(
        rt,
        slug,
        COST_TABLE,
        "x_genai_provider AS p, DATE(ChargePeriodStart) AS d, SUM(BilledCost) AS cost",
        "GROUP BY p, d",
    )
    return {(r["p"], r["d"]): Decimal(r["cost"]).quantize(CENT) for r in rows}


def _source_by_day(start: date, end: date) -> dict[tuple[str, date], Decimal]:
    totals: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    day = start
    while day <= end:
        for row in openai_costs(day):
            totals[("openai", day)] += Decimal(str(row["amount"]["value"]))
        for row in anthropic_costs(day):
            totals[("anthropic", day)] += Decimal(row["amount"]) / 100  # cents
        day += timedelta(days=1)
    return {k: v.quantize(CENT) for k, v in totals.items()}


def _all_log_text(rt: EmbeddedRuntime, slug: str, run: Run) -> str:
    logs = rt.services.store.list_logs(slug, run.run_id)
    transitions = rt.services.store.list_transitions(slug, run.run_id)
    return " ".join(
        [e.message for e in logs] + [t.reason for t in transitions] + [repr(run.to_public())]
    )


def test_a_month_of_both_providers_reconciles_to_the_cent_and_reruns_cleanly(
    runtime: EmbeddedRuntime, server: SampleGenAIServer
) -> None:
    slug = _org(runtime, "genai_month", server)
    start, end = date(2026, 10, 1), date(2026, 10, 31)
    for run in _run_both(runtime, slug, start, end):
        assert all(s.status is StepStatus.SUCCEEDED for s in run.steps.values())

    # Multi-page: 31 daily buckets at 7 per page = 5 pages per endpoint, cursors followed.
    costs = server.requests_to("/v1/organization/costs")
    assert len(costs) == 5
    assert [r.query.get("page") for r in costs] == [
        None, ["page_7"], ["page_14"], ["page_21"], ["page_28"],
    ]  # fmt: skip
    assert costs[0].query["bucket_width"] == ["1d"]
    assert costs[0].query["group_by[]"] == ["project_id", "line_item"]
    usage = server.requests_to("/v1/organization/usage/completions")
    assert usage[0].query["group_by[]"] == ["project_id", "model"]
    assert len(server.requests_to("/v1/organizations/usage_report/messages")) == 5
    messages = server.requests_to("/v1/organizations/usage_report/messages")[0].query
    assert messages["starting_at"] == ["2026-10-01T00:00:00Z"]
    assert messages["ending_at"] == ["2026-11-01T00:00:00Z"]

    # FOCUS totals = source totals, per provider and day, to the cent; empty days included.
    source = _source_by_day(start, end)
    focus = _focus_by_day(runtime, slug)
    assert focus == source
    assert ("anthropic", date(2026, 10, 10)) not in focus  # an empty bucket: no rows

    # Token quantities survive too: Anthropic output tokens per month.
    want_output = sum(
        u["output_tokens"] for d in range(31) for u in anthropic_usage(start + timedelta(days=d))
    )
    output_rows = _query(
        runtime,
        slug,
        COST_TABLE,
        "SUM(ConsumedQuantity) AS q, MAX(ConsumedUnit) AS unit, MAX(PricingUnit) AS pu",
        "AND x_genai_provider = 'anthropic' AND x_genai_token_type = 'output'",
    )
    assert int(output_rows[0]["q"]) == want_output
    assert (output_rows[0]["unit"], output_rows[0]["pu"]) == ("Tokens", "1M Tokens")

    counts_before = {
        t: _query(runtime, slug, t, "COUNT(*) AS n")[0]["n"]
        for t in (USAGE_RAW_TABLE, COSTS_RAW_TABLE, COST_TABLE)
    }
    rerun = _run(runtime, slug, "openai", date(2026, 10, 5), date(2026, 10, 12))
    assert rerun.status is RunStatus.COMPLETED
    counts_after = {
        t: _query(runtime, slug, t, "COUNT(*) AS n")[0]["n"]
        for t in (USAGE_RAW_TABLE, COSTS_RAW_TABLE, COST_TABLE)
    }
    assert counts_after == counts_before  # the same days again: replaced, not duplicated
    assert _focus_by_day(runtime, slug) == source
    written = assert_ingestion_dates(runtime.warehouse, runtime.settings.org_dataset(slug))
    assert all(written[t] > 0 for t in (USAGE_RAW_TABLE, COSTS_RAW_TABLE, COST_TABLE)), written

    # The price cross-check: the sample server bills at the price table's prices.
    openai_run = runtime.services.store.list_runs(slug, limit=5)[-1]
    check = openai_run.steps["cross_check_prices"].metrics["cross_check"]
    assert check["unpriced"] == []
    assert abs(Decimal(check["USD"]["difference"])) < CENT
    assert Decimal(check["USD"]["reported_token_cost"]) > 0


def test_the_unified_pipeline_holds_every_provider_daily_and_never_doubles_focus(
    runtime: EmbeddedRuntime, server: SampleGenAIServer
) -> None:
    slug = _org(runtime, "genai_unified", server)
    start, end = date(2026, 10, 1), date(2026, 10, 7)
    _run_both(runtime, slug, start, end)
    focus_before = _focus_by_day(runtime, slug)

    unified = run_to_end(runtime, slug, UNIFIED, start, end)
    assert unified.status is RunStatus.COMPLETED, unified.error
    assert unified.credential_id == "internal"  # it reads what the vendor pipelines wrote
    rows = _query(
        runtime,
        slug,
        UNIFIED_DAILY_TABLE,
        "provider, usage_date, source_pipeline_id, x_pipeline_id, x_run_id, SUM(cost) AS cost,"
        " COUNT(*) AS n",
        "GROUP BY provider, usage_date, source_pipeline_id, x_pipeline_id, x_run_id",
    )
    by_day = {(r["provider"], r["usage_date"]): Decimal(r["cost"]).quantize(CENT) for r in rows}
    assert by_day == _source_by_day(start, end)  # both providers, every day, to the cent
    assert {(r["provider"], r["source_pipeline_id"]) for r in rows} == {
        ("openai", "genai_openai"),
        ("anthropic", "genai_anthropic"),
    }
    lineage = {(r["x_pipeline_id"], r["x_run_id"]) for r in rows}
    assert lineage == {("genai_unified", unified.run_id)}
    written = sum(r["n"] for r in rows)
    assert unified.steps["consolidate_providers_daily"].rows_written == written
    assert _focus_by_day(runtime, slug) == focus_before  # no second copy of the money

    again = run_to_end(runtime, slug, UNIFIED, start, end)
    assert again.status is RunStatus.COMPLETED
    assert _query(runtime, slug, UNIFIED_DAILY_TABLE, "COUNT(*) AS n")[0]["n"] == written

    # A day whose FOCUS rows went missing (a vendor conversion that failed): the run fails
    # naming it, and the table keeps the previous run's rows.
    runtime.warehouse.query(
        f"DELETE FROM {org_table(runtime, slug, COST_TABLE)} WHERE x_genai_provider = "
        "'anthropic' AND x_pipeline_run_date = DATE '2026-10-03'"
    )
    broken = run_to_end(runtime, slug, UNIFIED, start, end)
    assert broken.status is RunStatus.FAILED
    assert "anthropic on 2026-10-03 in USD" in str(broken.error), broken.error
    assert str(broken.error).startswith("generic.procedure_executor: ")
    kept = _query(
        runtime, slug, UNIFIED_DAILY_TABLE, "x_run_id, COUNT(*) AS n", "GROUP BY x_run_id"
    )
    assert [(r["x_run_id"], r["n"]) for r in kept] == [(again.run_id, written)]


def test_openai_image_and_audio_costs_reach_focus_under_their_model(
    runtime: EmbeddedRuntime, server: SampleGenAIServer
) -> None:
    """dall-e, tts and whisper cost line items name no token type: each is attributed to
    its model and the meter its usage reports, beside that usage, in the daily table and
    in FOCUS (not left as model "(none)")."""
    slug = _org(runtime, "genai_meters", server)
    day = date(2026, 10, 4)
    assert _run(runtime, slug, "openai", day, day).status is RunStatus.COMPLETED
    expected = {}
    for endpoint, meter, line_item, unit_price in OPENAI_METER_COSTS:
        (usage,) = openai_usage(endpoint, day)
        expected[(usage["model"], meter)] = (usage[meter], usage[meter] * unit_price)
        assert line_item.startswith(usage["model"])
    models = ", ".join(f"'{model}'" for model, _ in expected)
    daily = _query(
        runtime,
        slug,
        USAGE_DAILY_TABLE,
        "model, token_type, quantity, cost, cost_source",
        f"AND model IN ({models})",
    )
    assert {(r["model"], r["token_type"]): (r["quantity"], r["cost"]) for r in daily} == {
        k: (q, Decimal(str(float(c)))) for k, (q, c) in expected.items()
    }
    assert {r["cost_source"] for r in daily} == {"provider"}
    focus = _query(
        runtime,
        slug,
        COST_TABLE,
        "x_genai_model AS model, x_genai_token_type AS meter, ConsumedQuantity AS q,"
        " BilledCost AS cost, ChargeDescription AS description",
        f"AND x_genai_model IN ({models})",
    )
    assert {(r["model"], r["meter"]): (int(r["q"]), r["cost"]) for r in focus} == {
        k: (q, Decimal(str(float(c)))) for k, (q, c) in expected.items()
    }
    none = _query(runtime, slug, COST_TABLE, "COUNT(*) AS n", "AND x_genai_model = '(none)'")
    assert none[0]["n"] == 0


def test_429_then_success_honours_retry_after(
    runtime: EmbeddedRuntime, server: SampleGenAIServer
) -> None:
    slug = _org(runtime, "genai_429", server)
    path = "/v1/organizations/cost_report"
    server.script(
        path, [Scripted(429, {"error": {"type": "rate_limit_error"}}, {"Retry-After": "1"})]
    )
    run = _run(runtime, slug, "anthropic", date(2026, 10, 1), date(2026, 10, 3))
    assert run.status is RunStatus.COMPLETED, run.error
    first, second = server.requests_to(path)[:2]
    assert second.at - first.at >= 1.0  # backoff alone would have waited 0.01 s
    assert second.query == first.query  # the same page asked again
    anthropic_days = {k: v for k, v in _focus_by_day(runtime, slug).items() if k[0] == "anthropic"}
    assert anthropic_days == {
        k: v
        for k, v in _source_by_day(date(2026, 10, 1), date(2026, 10, 3)).items()
        if k[0] == "anthropic"
    }


def test_500_storm_fails_the_step_clearly_and_writes_nothing(
    runtime: EmbeddedRuntime, server: SampleGenAIServer
) -> None:
    slug = _org(runtime, "genai_storm", server)
    # Page 1 is fine, page 2 never recovers: page 1's rows must not be written either.
    server.script(
        "/v1/organization/usage/completions",
        [None, *[Scripted(500, {"error": {"message": "upstream"}}) for _ in range(3)]],
    )
    run = _run(runtime, slug, "openai", date(2026, 10, 1), date(2026, 10, 14))
    assert run.status is RunStatus.FAILED
    step = run.steps["extract_usage"]
    assert step.status is StepStatus.FAILED
    assert step.error is not None
    assert "usage/completions page 2: gave up after 3 attempts: HTTP 500" in step.error
    assert _query(runtime, slug, USAGE_RAW_TABLE, "COUNT(*) AS n")[0]["n"] == 0
    assert _query(runtime, slug, COST_TABLE, "COUNT(*) AS n")[0]["n"] == 0
    assert run.steps["consolidate_usage_daily"].status is StepStatus.SKIPPED


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (
            {"data": [{"starting_at": "yesterday", "results": []}], "has_more": False},
            "usage_report/messages page 2 bucket 0: starting_at 'yesterday' is not an RFC 3339",
        ),
        (
            {
                "data": [
                    {
                        "starting_at": "2026-10-08T00:00:00Z",
                        "results": [{"uncached_input_tokens": 5}, {"output_tokens": "many"}],
                    }
                ],
                "has_more": False,
            },
            "usage_report/messages page 2 bucket 0 row 1: output_tokens is not a non-negative",
        ),
    ],
)
def test_a_malformed_page_fails_with_its_position(
    runtime: EmbeddedRuntime, server: SampleGenAIServer, page: Any, message: str
) -> None:
    slug = _org(runtime, f"genai_bad_{abs(hash(message)) % 10**6}", server)
    server.script("/v1/organizations/usage_report/messages", [None, Scripted(200, page)])
    run = _run(runtime, slug, "anthropic", date(2026, 10, 1), date(2026, 10, 14))
    error = _failed_step_error(run, "extract_usage")
    assert message in error
    assert _query(runtime, slug, USAGE_RAW_TABLE, "COUNT(*) AS n")[0]["n"] == 0


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_a_page_cut_short_is_fetched_again_and_totals_stay_exact(
    runtime: EmbeddedRuntime, server: SampleGenAIServer, vendor: str
) -> None:
    """HTTP 200 with half a JSON body (a dropped connection, a proxy): retried like a 5xx."""
    slug = _org(runtime, f"genai_cut_{vendor}", server)
    path = {
        "openai": "/v1/organization/usage/completions",
        "anthropic": "/v1/organizations/usage_report/messages",
    }[vendor]
    before = len(server.requests_to(path))
    server.script(path, [None, Scripted(200, '{"object": "page", "data": [{"start')])
    run = _run(runtime, slug, vendor, date(2026, 10, 1), date(2026, 10, 14))
    assert run.status is RunStatus.COMPLETED, run.error
    pages = server.requests_to(path)[before:]
    assert pages[1].query == pages[2].query  # the cut page 2, asked again
    days = {k: v for k, v in _focus_by_day(runtime, slug).items() if k[0] == vendor}
    source = _source_by_day(date(2026, 10, 1), date(2026, 10, 14))
    assert days == {k: v for k, v in source.items() if k[0] == vendor}


def test_empty_buckets_complete_with_no_rows(
    runtime: EmbeddedRuntime, server: SampleGenAIServer
) -> None:
    slug = _org(runtime, "genai_empty", server)
    run = _run(runtime, slug, "anthropic", date(2026, 10, 20), date(2026, 10, 20))
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.steps["extract_usage"].rows_written == 0
    assert run.steps["convert_to_focus"].rows_written == 0
    assert _query(runtime, slug, COST_TABLE, "COUNT(*) AS n")[0]["n"] == 0


def test_a_rejected_key_is_reported_without_leaking_it(
    runtime: EmbeddedRuntime, server: SampleGenAIServer
) -> None:
    slug = _org(runtime, "genai_401", server)
    # A proxy that echoes the key it was given: the message must not carry it on.
    server.script(
        "/v1/organization/usage/completions",
        [Scripted(401, {"error": {"message": f"Incorrect API key provided: {OPENAI_KEY}"}})],
    )
    run = _run(runtime, slug, "openai", date(2026, 10, 1), date(2026, 10, 2))
    error = _failed_step_error(run, "extract_usage")
    assert "usage/completions page 1: HTTP 401" in error
    assert "***" in error
    text = _all_log_text(runtime, slug, run)
    assert OPENAI_KEY not in text
    assert ANTHROPIC_KEY not in text


DEEPSEEK_CSV = """date,model,sub_account_id,input_tokens,cached_input_tokens,output_tokens
2026-10-01,deepseek-chat,key_web,1200000,300000,250000
2026-10-01,deepseek-reasoner,key_web,400000,0,900000
2026-10-02,deepseek-chat,,77777,1,123
2026-10-02,deepseek-chat,,3,0,0
2026-11-01,deepseek-chat,key_web,999,999,999
"""


def test_deepseek_usage_file_is_priced_from_the_table_into_focus(
    runtime: EmbeddedRuntime,
) -> None:
    slug = "genai_deepseek"
    new_org(runtime, slug)
    set_credential(runtime.services, slug, "deepseek", "sk-deepseek-lineage-only")
    inbox = runtime.settings.home / "inbox" / slug
    inbox.mkdir(parents=True)
    (inbox / "deepseek_usage.csv").write_text(DEEPSEEK_CSV)
    run = _run(runtime, slug, "deepseek", date(2026, 10, 1), date(2026, 10, 31))
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.steps["extract_usage"].metrics["rows_outside"] == 1
    # deepseek-chat / -reasoner: input 0.28, cached 0.028, output 0.42 USD per 1M tokens.
    day1 = (
        Decimal("1.2") * Decimal("0.28")
        + Decimal("0.3") * Decimal("0.028")
        + Decimal("0.25") * Decimal("0.42")
        + Decimal("0.4") * Decimal("0.28")
        + Decimal("0.9") * Decimal("0.42")
    )
    day2 = (Decimal(77780) * Decimal("0.28") + Decimal("0.028") + 123 * Decimal("0.42")) / 10**6
    assert _focus_by_day(runtime, slug) == {
        ("deepseek", date(2026, 10, 1)): day1.quantize(CENT),
        ("deepseek", date(2026, 10, 2)): day2.quantize(CENT),
    }
    focus = _query(
        runtime,
        slug,
        COST_TABLE,
        "ServiceName, ServiceProviderName, x_genai_cost_source, SUM(BilledCost) AS cost,"
        " SUM(ConsumedQuantity) AS tokens",
        "GROUP BY 1, 2, 3",
    )
    assert len(focus) == 1
    assert focus[0]["ServiceName"] == "DeepSeek API"
    assert focus[0]["ServiceProviderName"] == "DeepSeek"
    assert focus[0]["x_genai_cost_source"] == "price_table"
    assert Decimal(focus[0]["cost"]) == day1 + day2  # exact: priced at 1e-9
    assert int(focus[0]["tokens"]) == 1_200_000 + 300_000 + 250_000 + 400_000 + 900_000 + 77_904


def test_deepseek_unpriced_model_fails_naming_it(runtime: EmbeddedRuntime) -> None:
    slug = "genai_deepseek_unpriced"
    new_org(runtime, slug)
    set_credential(runtime.services, slug, "deepseek", "sk-deepseek-lineage-only")
    inbox = runtime.settings.home / "inbox" / slug
    inbox.mkdir(parents=True)
    (inbox / "deepseek_usage.csv").write_text(
        "date,model,input_tokens\n2026-10-03,deepseek-coder-9000,10\n"
    )
    run = _run(runtime, slug, "deepseek", date(2026, 10, 1), date(2026, 10, 31))
    error = _failed_step_error(run, "price_usage")
    assert "no deepseek price" in error
    assert "deepseek-coder-9000 input on 2026-10-03" in error
    assert _query(runtime, slug, COSTS_RAW_TABLE, "COUNT(*) AS n")[0]["n"] == 0
