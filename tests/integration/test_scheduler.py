"""Scheduler endpoints and ticks: a due schedule fires once, however ticks arrive."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from shared.adapters.clock import FixedClock
from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.schedules import FireStatus, derived_run_id
from shared.handlers import scheduler
from tests.support.runtime import DAILY_SCHEDULE, REGION, new_org, record_pipeline

ROOT = "root-key-for-tests"
PIPELINES: dict[str, dict[str, Any]] = {
    "subscription/costs/daily": record_pipeline(
        "daily", schedule=DAILY_SCHEDULE, parameters=REGION
    ),
    "subscription/costs/adhoc": record_pipeline("adhoc"),
}
T0 = datetime(2026, 3, 10, 3, 59, tzinfo=UTC)
DAILY = "subscription/costs/daily"
ACME_DAILY = {"org_slug": "acme", "pipeline": DAILY}  # a schedule's least body
SCHEDULES = "/api/v1/scheduler/schedules"
pytestmark = [pytest.mark.pipelines(PIPELINES), pytest.mark.clock(T0), pytest.mark.root_key(ROOT)]


def _post(client: FlaskClient, path: str, body: Any = None, key: str | None = ROOT) -> Any:
    headers = {} if key is None else {"X-CA-Root-Key": key}
    return client.post(path, json=body if body is not None else {}, headers=headers)


def _create(client: FlaskClient, body: dict[str, Any]) -> dict[str, Any]:
    response = _post(client, SCHEDULES, body)
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def test_a_due_schedule_fires_once_from_racing_ticks(
    client: FlaskClient, runtime: EmbeddedRuntime, clock: FixedClock
) -> None:
    new_org(runtime, "acme")
    schedule = _create(client, {**ACME_DAILY, "parameters": {"region": "us"}})
    assert schedule["cron"] == "0 4 * * *"  # the pipeline's default
    assert schedule["next_fire_at"] == "2026-03-10T04:00:00+00:00"
    queue = client.get("/api/v1/scheduler/queue", headers={"X-CA-Root-Key": ROOT}).get_json()
    assert (queue["due"], queue["queued"]) == ([], [])
    assert [s["schedule_id"] for s in queue["schedules"]] == [schedule["schedule_id"]]
    assert _post(client, "/api/v1/scheduler/trigger").get_json()["fired"] == []  # not due yet

    clock.set(datetime(2026, 3, 10, 4, 0, 7, tzinfo=UTC))
    queue = client.get("/api/v1/scheduler/queue", headers={"X-CA-Root-Key": ROOT}).get_json()
    assert [s["schedule_id"] for s in queue["due"]] == [schedule["schedule_id"]]
    barrier = threading.Barrier(4)
    fired: list[int] = []

    def tick() -> None:
        barrier.wait()
        fired.append(len(scheduler.tick(runtime.services)))

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(fired) == [0, 0, 0, 1]
    assert _post(client, "/api/v1/scheduler/trigger").get_json()["fired"] == []  # late tick
    assert runtime.bus.drain(10)

    fire_time = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
    run_id = derived_run_id("schedule", schedule["schedule_id"], fire_time.isoformat())
    [run] = runtime.services.store.list_runs("acme")
    assert run.run_id == run_id
    assert (run.trigger, run.status.value, run.parameters) == (
        "schedule",
        "completed",
        {"region": "us"},
    )
    assert run.start_date.isoformat() == "2026-03-09"  # the day before the firing
    got = client.get(
        f"/api/v1/scheduler/schedule/{schedule['schedule_id']}", headers={"X-CA-Root-Key": ROOT}
    ).get_json()
    assert got["next_fire_at"] == "2026-03-11T04:00:00+00:00"
    assert (got["last_fire_at"], got["last_run_id"]) == (fire_time.isoformat(), run_id)


def test_manual_trigger_fires_once_per_minute(
    client: FlaskClient, runtime: EmbeddedRuntime
) -> None:
    new_org(runtime, "acme")
    schedule = _create(
        client, {"org_slug": "acme", "pipeline": "subscription/costs/adhoc", "cron": "0 0 1 1 *"}
    )
    body = {"schedule_id": schedule["schedule_id"]}
    first = _post(client, "/api/v1/scheduler/trigger", body).get_json()["fired"]
    assert [f["status"] for f in first] == ["dispatched"]
    assert _post(client, "/api/v1/scheduler/trigger", body).get_json()["fired"] == []
    assert runtime.bus.drain(10)
    assert len(runtime.services.store.list_runs("acme")) == 1


def test_full_quota_keeps_the_firing_queued_until_process_queue(
    client: FlaskClient, runtime: EmbeddedRuntime, clock: FixedClock
) -> None:
    org, _ = new_org(runtime, "tiny", plan="starter")  # one concurrent run
    store = runtime.services.store
    assert store.reserve_quota("tiny", "held", org.limits, clock.now()).admitted
    schedule = _create(client, {**ACME_DAILY, "org_slug": "tiny"})
    clock.set(datetime(2026, 3, 10, 4, 1, tzinfo=UTC))
    [fire] = _post(client, "/api/v1/scheduler/trigger").get_json()["fired"]
    assert (fire["status"], fire["attempts"]) == ("queued", 1)
    assert "Concurrent pipeline limit reached" in fire["error"]
    assert store.list_runs("tiny") == []
    store.release_concurrent("tiny", "held")
    [done] = _post(client, "/api/v1/scheduler/process-queue").get_json()["processed"]
    assert (done["status"], done["attempts"], done["error"]) == ("dispatched", 2, None)
    assert _post(client, "/api/v1/scheduler/process-queue").get_json()["processed"] == []
    assert runtime.bus.drain(10)
    assert [r.run_id for r in store.list_runs("tiny")] == [done["run_id"]]
    assert runtime.services.schedules is not None
    assert runtime.services.schedules.list_fires(status=FireStatus.QUEUED) == []
    assert schedule["schedule_id"] == done["schedule_id"]


def test_update_changes_cron_and_disabling_stops_firing(
    client: FlaskClient, runtime: EmbeddedRuntime, clock: FixedClock
) -> None:
    new_org(runtime, "acme")
    sid = _create(client, ACME_DAILY)["schedule_id"]
    headers = {"X-CA-Root-Key": ROOT}
    changed = client.put(
        f"/api/v1/scheduler/schedule/{sid}", json={"cron": "30 6 * * *"}, headers=headers
    )
    assert changed.status_code == 200
    assert changed.get_json()["next_fire_at"] == "2026-03-10T06:30:00+00:00"
    off = client.put(f"/api/v1/scheduler/schedule/{sid}", json={"enabled": False}, headers=headers)
    assert (off.get_json()["enabled"], off.get_json()["next_fire_at"]) == (False, None)
    clock.set(datetime(2026, 3, 11, 7, 0, tzinfo=UTC))
    assert _post(client, "/api/v1/scheduler/trigger").get_json()["fired"] == []
    on = client.put(f"/api/v1/scheduler/schedule/{sid}", json={"enabled": True}, headers=headers)
    assert on.get_json()["next_fire_at"] == "2026-03-12T06:30:00+00:00"  # missed times skipped
    listed = client.get("/api/v1/scheduler/schedules?org=acme", headers=headers).get_json()
    assert [s["schedule_id"] for s in listed["schedules"]] == [sid]


def test_root_key_is_required_and_checked(
    client: FlaskClient, runtime: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in (None, "", "wrong"):
        response = _post(client, "/api/v1/scheduler/process-queue", key=key)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/api/v1/scheduler/queue", headers={"X-API-Key": ROOT}).status_code == 401
    monkeypatch.delenv("PIPELINES_ROOT_KEY")
    response = _post(client, "/api/v1/scheduler/trigger")
    assert response.status_code == 503
    assert "PIPELINES_ROOT_KEY is not configured" in response.get_json()["error"]["message"]


def test_schedules_never_show_another_orgs_and_unknown_ids_are_404(
    client: FlaskClient, runtime: EmbeddedRuntime
) -> None:
    new_org(runtime, "acme")
    new_org(runtime, "globex")
    _create(client, ACME_DAILY)
    headers = {"X-CA-Root-Key": ROOT}
    assert client.get("/api/v1/scheduler/schedules?org=globex", headers=headers).get_json() == {
        "schedules": []
    }
    assert client.get("/api/v1/scheduler/schedules?org=nobody", headers=headers).status_code == 404
    assert client.get("/api/v1/scheduler/schedule/sch_nope", headers=headers).status_code == 404
    put = client.put("/api/v1/scheduler/schedule/sch_nope", json={}, headers=headers)
    assert put.status_code == 404
    missing_org = _post(client, SCHEDULES, {**ACME_DAILY, "org_slug": "nobody"})
    assert missing_org.status_code == 404
    trig = _post(client, "/api/v1/scheduler/trigger", {"schedule_id": "sch_nope"})
    assert trig.status_code == 404
    assert _post(client, SCHEDULES, ACME_DAILY).status_code == 409  # the pair is taken


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ACME_DAILY, "cron": "61 * * * *"}, "cron"),
        ({**ACME_DAILY, "enabled": "yes"}, "enabled"),
        ({**ACME_DAILY, "parameters": {"region": "mars"}}, "parameters.region"),
        ({**ACME_DAILY, "every": "day"}, "every"),
        ({"pipeline": DAILY}, "org_slug"),
        ({"org_slug": "acme"}, "pipeline"),
        ({**ACME_DAILY, "pipeline": "subscription/costs/adhoc"}, "cron"),
    ],
)
def test_bad_schedule_input_is_400_naming_the_field(
    client: FlaskClient, runtime: EmbeddedRuntime, body: dict[str, Any], field: str
) -> None:
    new_org(runtime, "acme")
    response = _post(client, SCHEDULES, body)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["details"]["field"] == field
    assert runtime.services.schedules is not None
    assert runtime.services.schedules.list_schedules() == []


def test_bad_update_and_trigger_input_is_400(client: FlaskClient, runtime: EmbeddedRuntime) -> None:
    new_org(runtime, "acme")
    sid = _create(client, ACME_DAILY)["schedule_id"]
    headers = {"X-CA-Root-Key": ROOT}
    for body, field in (
        ({"enabled": 1}, "enabled"),
        ({"cron": "* *"}, "cron"),
        ({"org_slug": "x"}, "org_slug"),
    ):
        response = client.put(f"/api/v1/scheduler/schedule/{sid}", json=body, headers=headers)
        assert response.status_code == 400
        assert response.get_json()["error"]["details"]["field"] == field
    bad = _post(client, "/api/v1/scheduler/trigger", {"schedule_id": 7})
    assert bad.get_json()["error"]["details"]["field"] == "schedule_id"
