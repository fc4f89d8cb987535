"""The periodic-job functions (functions/maintenance/main.py) through functions-framework:
each entry point runs its own job on its topic's push; a failing job makes Pub/Sub
redeliver (HTTP 500). The message body is not read: a tick has nothing to be malformed."""

from __future__ import annotations

import base64
import sys
from datetime import UTC, datetime
from typing import Any

import functions_framework
import pytest

import shared.handlers.maintenance
import shared.handlers.meta_mirror
import shared.handlers.scheduler
from shared.config.jobs import JOBS
from shared.handlers.meta_mirror import CatchUp
from tests.unit.test_function_entry_points import ROOT, RecordingDeadLetters


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = []

    def record(name: str, result: Any) -> Any:
        def job(services: Any) -> Any:
            calls.append((name, services))
            return result

        return job

    maintenance = shared.handlers.maintenance
    monkeypatch.setattr(maintenance, "reset_daily_quotas", record("daily", []))
    monkeypatch.setattr(maintenance, "reset_monthly_quotas", record("monthly", ([], 3)))
    monkeypatch.setattr(maintenance, "reset_stale_concurrent_counts", record("stale", []))
    monkeypatch.setattr(shared.handlers.scheduler, "tick", record("tick", []))
    monkeypatch.setattr(shared.handlers.scheduler, "process_queue", record("queue", []))
    caught = CatchUp(0, 0, 0, datetime(2026, 10, 1, tzinfo=UTC))
    monkeypatch.setattr(shared.handlers.meta_mirror, "catch_up", record("meta", caught))
    return calls


def _push(entry_point: str, topic: str, monkeypatch: pytest.MonkeyPatch, body: Any) -> int:
    app = functions_framework.create_app(
        entry_point, str(ROOT / "functions" / "maintenance" / "main.py")
    )
    module = sys.modules["main"]
    monkeypatch.setattr(module, "_services", lambda: "SERVICES")
    monkeypatch.setattr(module, "dead_letters", lambda: DEAD)
    response = app.test_client().post(f"/projects/p/topics/{topic}", json=body)
    return int(response.status_code)


DEAD = RecordingDeadLetters()


def _envelope(data: bytes = b'{"job": "x"}') -> dict[str, Any]:
    return {
        "message": {"data": base64.b64encode(data).decode(), "messageId": "m-1"},
        "subscription": "projects/p/subscriptions/s",
    }


EXPECTED = {
    "reset_daily_quotas": ["daily"],
    "reset_monthly_quotas": ["monthly"],
    "reset_stale_concurrent_counts": ["stale"],
    "schedules_tick": ["tick", "queue"],
    "meta_catch_up": ["meta"],
}


@pytest.mark.parametrize("job", JOBS, ids=lambda j: j.entry_point)
def test_each_topic_runs_its_job_on_the_runtimes_services(
    job: Any, ran: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _push(job.entry_point, job.topic.value, monkeypatch, _envelope()) == 200
    assert ran == [(name, "SERVICES") for name in EXPECTED[job.entry_point]]


def test_a_failing_job_is_redelivered(monkeypatch: pytest.MonkeyPatch) -> None:
    def down(services: Any) -> Any:
        raise RuntimeError("firestore unavailable")

    monkeypatch.setattr(shared.handlers.maintenance, "reset_stale_concurrent_counts", down)
    assert _push("reset_stale_concurrent_counts", "stale-sweep", monkeypatch, _envelope()) == 500
