"""Quota rollovers and the stale-slot sweeper, driven by a FixedClock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from shared.adapters.clock import FixedClock
from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.states import RunStatus, StepStatus
from shared.handlers.maintenance import (
    BucketUsage,
    reset_daily_quotas,
    reset_monthly_quotas,
    reset_stale_concurrent_counts,
)
from tests.support.runtime import new_org, stored_run

PIPELINES: dict[str, dict[str, Any]] = {
    "subscription/costs/steady": {
        "pipeline_id": "steady",
        "name": "steady",
        "provider": "subscription",
        "domain": "costs",
        "version": "1.0.0",
        # allowed silence = 10 s timeout + 30 s lease grace + 5 s backoff = 45 s
        "steps": [
            {
                "step_id": "load",
                "ps_type": "test.record",
                "timeout_seconds": 10,
                "retry": {"max_attempts": 2, "backoff_seconds": 5},
            },
            {"step_id": "after", "ps_type": "test.record", "depends_on": ["load"]},
        ],
    },
}
T0 = datetime(2026, 3, 10, 0, 0, 30, tzinfo=UTC)
pytestmark = [pytest.mark.pipelines(PIPELINES), pytest.mark.clock(T0)]


def _reserve(runtime: EmbeddedRuntime, org: str, run_id: str, at: datetime) -> None:
    store = runtime.services.store
    limits = store.get_org(org).limits  # type: ignore[union-attr]
    assert store.reserve_quota(org, run_id, limits, at).admitted


def test_daily_rollover_reports_the_closed_day_and_is_idempotent(
    runtime: EmbeddedRuntime,
) -> None:
    new_org(runtime, "acme", plan="starter")
    new_org(runtime, "globex", plan="scale")
    for i in range(3):
        _reserve(runtime, "acme", f"y{i}", T0 - timedelta(hours=2))
        runtime.services.store.release_concurrent("acme", f"y{i}")
    _reserve(runtime, "acme", "today", T0)
    first = reset_daily_quotas(runtime.services)
    assert first == [
        BucketUsage("acme", "2026-03-09", used=3, limit=6, current_used=1),
        BucketUsage("globex", "2026-03-09", used=0, limit=100, current_used=0),
    ]
    assert reset_daily_quotas(runtime.services) == first
    # the new day is usable up to the full limit again, minus what today already took
    usage = runtime.services.store.quota_usage("acme", T0)
    assert (usage.daily, usage.monthly) == (1, 4)


def test_monthly_rollover_purges_only_dead_rows(
    runtime: EmbeddedRuntime, clock: FixedClock
) -> None:
    new_org(runtime, "acme", plan="scale")
    for run_id, at in (
        ("jan", datetime(2026, 1, 20, tzinfo=UTC)),
        ("feb", datetime(2026, 2, 20, tzinfo=UTC)),
        ("feb_held", datetime(2026, 2, 21, tzinfo=UTC)),
    ):
        _reserve(runtime, "acme", run_id, at)
    runtime.services.store.release_concurrent("acme", "jan")
    runtime.services.store.release_concurrent("acme", "feb")
    clock.set(datetime(2026, 3, 1, 0, 5, tzinfo=UTC))
    report, purged = reset_monthly_quotas(runtime.services)
    assert report == [BucketUsage("acme", "2026-02", used=2, limit=3000, current_used=0)]
    assert purged == 1  # January's released row; February is kept for its report
    assert reset_monthly_quotas(runtime.services) == (report, 0)
    assert runtime.services.store.quota_usage("acme", clock.now()).concurrent == 1  # feb_held


def _stored_run(runtime: EmbeddedRuntime, run_id: str, status: RunStatus) -> None:
    store, now = runtime.services.store, runtime.services.clock.now()
    _reserve(runtime, "acme", run_id, now)
    steps = ("load", "after")
    days = (date(2026, 3, 9), date(2026, 3, 9))
    store.create_run(stored_run(run_id, "subscription/costs/steady", steps, now, days=days), now)
    for target in (RunStatus.VALIDATING, RunStatus.RUNNING):
        store.transition_run("acme", run_id, target, "test", now)
    assert store.claim_step_attempt(run_id, "load", 1, now + timedelta(seconds=40), now)
    if status is RunStatus.COMPLETED:
        store.finish_step_attempt(run_id, "load", 1, StepStatus.SUCCEEDED, now)
        store.transition_step(run_id, "after", StepStatus.SKIPPED, "test", now)
        store.transition_run("acme", run_id, status, "finished, slot not released", now)


def test_stale_slots_are_swept_once(runtime: EmbeddedRuntime, clock: FixedClock) -> None:
    store = runtime.services.store
    new_org(runtime, "acme", plan="scale")
    _stored_run(runtime, "done", RunStatus.COMPLETED)  # finished but still holding its slot
    _stored_run(runtime, "silent", RunStatus.RUNNING)
    _reserve(runtime, "acme", "orphan", clock.now())  # no run was ever created
    clock.advance(46)
    _stored_run(runtime, "busy", RunStatus.RUNNING)  # active just now
    assert store.quota_usage("acme", clock.now()).concurrent == 4

    first = reset_stale_concurrent_counts(runtime.services)
    assert {(s.run_id, s.run_failed) for s in first} == {("done", False), ("silent", True)}
    silent = store.get_run("acme", "silent")
    assert silent is not None
    assert silent.status is RunStatus.FAILED
    assert silent.error is not None
    assert "no progress for 46 s (allowed 45 s)" in silent.error
    assert {s.step_id: s.status for s in silent.steps.values()} == {
        "load": StepStatus.FAILED,
        "after": StepStatus.SKIPPED,
    }
    assert store.get_run("acme", "busy").status is RunStatus.RUNNING  # type: ignore[union-attr]
    assert reset_stale_concurrent_counts(runtime.services) == []  # idempotent

    clock.advance(600)  # the orphan reservation is now old enough; busy went silent too
    swept = {s.run_id: s.reason for s in reset_stale_concurrent_counts(runtime.services)}
    assert set(swept) == {"orphan", "busy"}
    assert "without a run" in swept["orphan"]
    assert store.quota_usage("acme", clock.now()).concurrent == 0


@pytest.mark.root_key("root")
def test_quota_jobs_over_http(
    client: FlaskClient, runtime: EmbeddedRuntime, clock: FixedClock
) -> None:
    new_org(runtime, "acme", plan="starter")
    _stored_run(runtime, "silent", RunStatus.RUNNING)
    clock.advance(46)
    root = {"X-CA-Root-Key": "root"}
    daily = client.post("/api/v1/admin/quotas/reset-daily", headers=root).get_json()
    assert daily["orgs"] == [
        {"org_slug": "acme", "bucket": "2026-03-09", "used": 0, "limit": 6, "current_used": 1}
    ]
    monthly = client.post("/api/v1/admin/quotas/reset-monthly", headers=root).get_json()
    assert (monthly["orgs"][0]["bucket"], monthly["purged"]) == ("2026-02", 0)
    stale = client.post("/api/v1/admin/quotas/reset-stale", headers=root).get_json()
    assert [(r["run_id"], r["run_failed"]) for r in stale["released"]] == [("silent", True)]
    assert client.post("/api/v1/admin/quotas/reset-stale", headers=root).get_json() == {
        "released": []
    }
    for headers in ({}, {"X-CA-Root-Key": "wrong"}, {"X-API-Key": "root"}):
        assert client.post("/api/v1/admin/quotas/reset-daily", headers=headers).status_code == 401
    bad = client.post("/api/v1/admin/quotas/reset-weekly", headers=root)
    assert bad.status_code == 400
    assert bad.get_json()["error"]["details"]["field"] == "job"
