"""COST_THRESHOLD, ANOMALY_DETECTED and SUMMARY_SCHEDULED to a real local SMTP server and
webhook receiver, with the sums computed by the embedded BigQuery."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from shared.adapters.clock import FixedClock
from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.notifications import (
    CostThresholdSettings,
    PeriodCost,
    crossed_thresholds,
)
from shared.entrypoints.cli.commands import ops
from shared.entrypoints.cli.main import main
from tests.support.http import post_run
from tests.support.receivers import MailBox, Webhook
from tests.support.runtime import (
    lend_runtime,
    new_org,
    record_pipeline,
    with_notifications,
    write_configs,
)

PIPELINES: dict[str, dict[str, Any]] = {
    name: record_pipeline(name, config=config)
    for name, config in (("fine", {}), ("broken", {"fail_permanently": True}))
}
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ROOT = {"X-CA-Root-Key": "root"}
ORG = "costalert"


pytestmark = [pytest.mark.warehouse, pytest.mark.clock(T0), pytest.mark.root_key("root")]


@pytest.fixture
def configs(tmp_path: Path, mail: tuple[MailBox, int]) -> Path:
    pipelines = {f"subscription/costs/{name}": body for name, body in PIPELINES.items()}
    return with_notifications(write_configs(tmp_path, pipelines), mail[1])


def _cost_rows(runtime: EmbeddedRuntime, org: str, rows: list[tuple[str, str, str, str]]) -> None:
    """Cost rows as a pipeline would have written them: (day, category, service, cost)."""
    wh = runtime.services.warehouse
    values = ", ".join(
        f"('{org}', DATE '{day}', '{category}', '{service}', 'USD', NUMERIC '{cost}')"
        for day, category, service, cost in rows
    )
    wh.run_script(
        f"INSERT INTO `{wh.project_id}.{org}_test.cost_data_standard_1_3` "
        "(x_org_slug, x_pipeline_run_date, ServiceCategory, ServiceName, BillingCurrency, "
        f"BilledCost) VALUES {values}"
    )


def _text(message: Message) -> str:
    """A mail's body, quoted-printable undone."""
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def _run(client: FlaskClient, runtime: EmbeddedRuntime, key: str, pipeline: str) -> None:
    day = {"date": "2026-03-09"}
    assert post_run(client, key, ORG, f"subscription/costs/{pipeline}", day).status_code == 202
    assert runtime.bus.drain(10)
    assert runtime.notifier.flush(10)


def _history(client: FlaskClient, key: str) -> list[tuple[str, str, str]]:
    found = client.get(
        f"/api/v1/notifications/{ORG}/deliveries?limit=100", headers={"X-API-Key": key}
    ).get_json()["deliveries"]
    cost_events = ("COST_THRESHOLD", "ANOMALY_DETECTED")
    return sorted(
        (d["event"], d["channel"], d["status"]) for d in found if d["event"] in cost_events
    )


def test_thresholds_anomalies_and_summaries_are_delivered_once_per_period(
    client: FlaskClient,
    runtime: EmbeddedRuntime,
    clock: FixedClock,
    mail: tuple[MailBox, int],
    hook: Webhook,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    box, _ = mail
    _, key = new_org(runtime, ORG)
    settings = {
        "email": {"to": ["finops@costalert.test"]},
        "slack": {"webhook_url": hook.url},
        "events": {
            "COST_THRESHOLD": ["email", "slack"],
            "ANOMALY_DETECTED": ["slack"],
            "SUMMARY_SCHEDULED": ["email"],
        },
        "cost_threshold": {"daily": {"USD": 80, "EUR": 1}, "monthly": {"USD": "100.5"}},
        "anomaly": {"factor": 2, "min_amount": 50},
    }
    put = client.put(
        f"/api/v1/notifications/{ORG}/settings", json=settings, headers={"X-API-Key": key}
    )
    assert put.status_code == 200, put.get_json()
    _cost_rows(
        runtime,
        ORG,
        [
            ("2026-03-08", "Compute", "VM", "10"),
            ("2026-03-08", "Storage", "Disk", "1"),
            ("2026-03-09", "Compute", "VM", "60"),
            ("2026-03-09", "Compute", "VM", "40"),  # two rows: the service's day is 100
            ("2026-03-09", "Storage", "Disk", "5"),  # 5x, but only 4 more: not an anomaly
            ("2026-02-28", "Compute", "VM", "1000"),  # another month: not in March's total
        ],
    )

    _run(client, runtime, key, "fine")
    subjects = sorted(m["Subject"] for m in box.messages)
    assert subjects == [
        f"[{ORG}] COST_THRESHOLD: daily:2026-03-09:USD",
        f"[{ORG}] COST_THRESHOLD: monthly:2026-03:USD",
    ]
    daily = _text(next(m for m in box.messages if "daily" in m["Subject"]))
    assert "billed cost for 2026-03-09 is 105.00 USD, above the threshold of 80.00 USD" in daily
    monthly = _text(next(m for m in box.messages if "monthly" in m["Subject"]))
    assert "is 116.00 USD, above the threshold of 100.50 USD" in monthly
    texts = sorted(p["text"].split("\n")[1] for p in hook.posts)
    assert len(texts) == 3
    assert texts[0] == (
        "VM cost 100.00 USD on 2026-03-09, up from 10.00 USD the day before "
        "(more than 2x and at least 50.00 more)"
    )

    # Another run over the same day, after the org's 900 s cooldown: said once per period.
    clock.advance(901)
    _run(client, runtime, key, "fine")
    assert len(box.messages) == 2
    assert len(hook.posts) == 3
    _run(client, runtime, key, "broken")  # a failed run is not checked for costs
    # (its PIPELINE_FAILURE / STEP_FAILURE still follow the root file's routes)
    assert _history(client, key) == sorted(
        [
            ("COST_THRESHOLD", "email", "sent"),
            ("COST_THRESHOLD", "email", "sent"),
            ("COST_THRESHOLD", "slack", "sent"),
            ("COST_THRESHOLD", "slack", "sent"),
            ("ANOMALY_DETECTED", "slack", "sent"),
            ("COST_THRESHOLD", "email", "suppressed"),
            ("COST_THRESHOLD", "email", "suppressed"),
            ("COST_THRESHOLD", "slack", "suppressed"),
            ("COST_THRESHOLD", "slack", "suppressed"),
            ("ANOMALY_DETECTED", "slack", "suppressed"),
        ]
    )

    # The weekly summary: the 7 days ending yesterday (UTC), sent by the admin job once.
    clock.advance(24 * 3600)
    sent = client.post("/api/v1/admin/notifications/summary/week", headers=ROOT)
    assert sent.status_code == 200
    (summary,) = sent.get_json()["summaries"]
    assert (summary["org_slug"], summary["start_date"], summary["end_date"]) == (
        ORG,
        "2026-03-04",
        "2026-03-10",
    )
    assert (summary["runs"], summary["failed"]) == (3, 1)
    assert [d["status"] for d in summary["deliveries"]] == ["sent"]
    mailed = box.messages[-1]
    assert mailed["Subject"] == f"[{ORG}] SUMMARY_SCHEDULED: week:2026-03-04"
    body = _text(mailed)
    assert "Runs: 3, failed: 1" in body
    assert "Compute: 110.00 USD" in body
    assert "Storage: 6.00 USD" in body
    assert "subscription/costs/broken" in body
    again = client.post("/api/v1/admin/notifications/summary/week", headers=ROOT).get_json()
    assert [d["status"] for d in again["summaries"][0]["deliveries"]] == ["suppressed"]
    assert len(box.messages) == 4  # 2 thresholds, the broken run's failure, 1 summary

    lend_runtime(monkeypatch, ops, runtime)
    assert main(["notifications", "summary", "--period", "week"]) == 0
    assert re.search(
        rf"^{ORG}\s+2026-03-04\s+2026-03-10\s+3\s+1\s+email\s+suppressed",
        capsys.readouterr().out,
        re.M,
    )


def test_summary_and_cost_settings_refuse_bad_input(
    client: FlaskClient, runtime: EmbeddedRuntime
) -> None:
    _, key = new_org(runtime, "costbad")
    for headers in ({}, {"X-CA-Root-Key": "wrong"}, {"X-API-Key": key}):
        response = client.post("/api/v1/admin/notifications/summary/day", headers=headers)
        assert response.status_code == 401
    bad = client.post("/api/v1/admin/notifications/summary/month", headers=ROOT)
    assert bad.status_code == 400
    assert bad.get_json()["error"]["details"]["field"] == "period"
    # Nobody routes summaries: nothing is sent.
    quiet = client.post("/api/v1/admin/notifications/summary/day", headers=ROOT)
    assert quiet.get_json() == {"summaries": []}
    for override, field in (
        ({"cost_threshold": {"daily": {"usd": 5}}}, "cost_threshold.daily.usd.[key]"),
        ({"cost_threshold": {"monthly": {"USD": -1}}}, "cost_threshold.monthly.USD"),
        ({"anomaly": {"factor": 1}}, "anomaly.factor"),
    ):
        response = client.put(
            "/api/v1/notifications/costbad/settings", json=override, headers={"X-API-Key": key}
        )
        assert response.status_code == 400, override
        assert response.get_json()["error"]["details"]["field"] == field


def test_crossed_thresholds_compares_each_period_with_its_currency() -> None:
    from datetime import date

    thresholds = CostThresholdSettings(daily={"USD": Decimal(10)}, monthly={"EUR": Decimal(5)})
    totals = [
        PeriodCost("daily", date(2026, 3, 1), "USD", Decimal("10.01")),
        PeriodCost("daily", date(2026, 3, 2), "USD", Decimal(10)),  # equal: not above
        PeriodCost("daily", date(2026, 3, 1), "EUR", Decimal(99)),  # no daily EUR threshold
        PeriodCost("monthly", date(2026, 3, 1), "EUR", Decimal(6)),
    ]
    assert crossed_thresholds(totals, thresholds) == [
        (totals[0], Decimal(10)),
        (totals[3], Decimal(5)),
    ]
