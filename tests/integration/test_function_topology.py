"""The `make up` topology end to end: HTTP -> api function -> Pub/Sub push -> step_runner /
coordinator functions (separate processes) -> Firestore + BigQuery, over the emulators.

Started once per session (tests/support/emulators.py ``function_stack``); each test uses
its own org.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from typing import Any

import pytest
from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

from shared.adapters.pubsub_bus import PubSubBus, topic_path
from shared.bootstrap.cloud import build_cloud_services
from shared.config.jobs import JobTopic
from shared.config.settings import Settings
from shared.demo.subscriptions import sample_subscription_plans
from shared.devtools.stack import Stack, kill_function, restart_function
from shared.domain.focus import COST_TABLE
from shared.domain.messages import StepEvent, StepRequest, Topic
from shared.domain.quota import SubscriptionStatus
from shared.domain.saas_subscriptions import PLANS_COLUMNS, PLANS_TABLE
from shared.domain.sql import table_ref
from shared.domain.states import StepStatus
from shared.handlers import scheduler
from shared.handlers.onboarding import create_org
from shared.handlers.services import Services
from tests.support.emulators import FAST_LEASE_PIPELINE, SLOW_PIPELINE

pytestmark = pytest.mark.slow

OCTOBER = ("2026-10-01", "2026-10-31")
PIPELINE = "subscription/costs/subscription_cost"


@pytest.fixture
def services(function_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Services:
    """This process's view of the stack: the same project, emulators and warehouse."""
    for name, value in function_stack.env.items():
        monkeypatch.setenv(name, value)
    return build_cloud_services(Settings.from_env())


def _org(services: Services, slug: str) -> str:
    _, api_key = create_org(
        services, slug, name=slug, plan="scale", status=SubscriptionStatus.ACTIVE
    )
    plans = sample_subscription_plans(slug, date(2026, 10, 1))
    services.warehouse.load_rows(
        services.settings.org_dataset(slug), PLANS_TABLE, PLANS_COLUMNS, plans
    )
    return api_key


def _http(
    method: str, url: str, api_key: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("X-API-Key", api_key)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _start_run(stack: Stack, slug: str, api_key: str, pipeline: str = PIPELINE) -> str:
    status, body = _http(
        "POST",
        f"{stack.api_url}/api/v1/pipelines/run/{slug}/{pipeline}",
        api_key,
        {"start_date": OCTOBER[0], "end_date": OCTOBER[1]},
    )
    assert status == 202, body
    return str(body["run_id"])


def _started(
    stack: Stack,
    services: Services,
    slug: str,
    pipeline: str = PIPELINE,
    *,
    running: str | None = None,
) -> tuple[str, str]:
    """A new org ``slug`` and a run of ``pipeline`` it started over HTTP: (key, run id);
    returns once step ``running`` runs, if given."""
    api_key = _org(services, slug)
    run_id = _start_run(stack, slug, api_key, pipeline)
    deadline = time.monotonic() + 60
    while running and services.store.get_steps(run_id)[running].status != StepStatus.RUNNING:
        assert time.monotonic() < deadline, f"{running} never started"
        time.sleep(0.02)
    return api_key, run_id


def _completed(stack: Stack, services: Services, slug: str) -> tuple[str, str, Any]:
    """A new org's run of the subscription pipeline, completed: (key, run id, status)."""
    api_key, run_id = _started(stack, services, slug)
    final = _wait(stack, slug, api_key, run_id)
    assert final["status"] == "completed", final
    return api_key, run_id, final


def _wait(stack: Stack, slug: str, api_key: str, run_id: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    url = f"{stack.api_url}/api/v1/pipelines/status/{slug}/{run_id}"
    while time.monotonic() < deadline:
        status, body = _http("GET", url, api_key)
        assert status == 200, body
        if body["status"] in ("completed", "failed", "cancelled"):
            return body
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s: {body}")


def _focus(services: Services, slug: str) -> list[tuple[Any, ...]]:
    ref = table_ref(services.warehouse.project_id, services.settings.org_dataset(slug), COST_TABLE)
    rows = services.warehouse.query(
        f"SELECT ResourceId, ChargePeriodStart, BilledCost, x_run_id FROM {ref}"
        " ORDER BY ResourceId, ChargePeriodStart"
    )
    return [tuple(r.values()) for r in rows]


def test_subscription_pipeline_over_http_to_completion(
    function_stack: Stack, services: Services
) -> None:
    slug = "topo_http"
    _, run_id, final = _completed(function_stack, services, slug)
    steps = {s["step_id"]: s for s in final["steps"]}
    assert {s["status"] for s in steps.values()} == {"succeeded"}
    assert (
        steps["convert_to_focus"]["rows_written"] == steps["calculate_daily_costs"]["rows_written"]
    )
    rows = _focus(services, slug)
    assert len(rows) == steps["convert_to_focus"]["rows_written"] > 300
    assert {r[3] for r in rows} == {run_id}  # lineage: every row names this run
    assert services.store.quota_usage(slug, services.clock.now()).concurrent == 0  # released


def test_duplicate_publishes_of_every_message_change_nothing(
    function_stack: Stack, services: Services
) -> None:
    slug = "topo_dupes"
    api_key, run_id, first = _completed(function_stack, services, slug)
    rows = _focus(services, slug)
    history = services.store.list_transitions(slug, run_id)

    # Every message of the run, published again through real Pub/Sub.
    bus = PubSubBus(function_stack.project)
    for step in first["steps"]:
        bus.publish(StepRequest(run_id, slug, step["step_id"], step["attempt"]))
        bus.publish(
            StepEvent(
                run_id,
                slug,
                step["step_id"],
                step["attempt"],
                succeeded=True,
                rows_written=step["rows_written"],
            )
        )
    time.sleep(3)  # the pushes are handled within a second; give them room

    again = _wait(function_stack, slug, api_key, run_id)
    assert again == first
    assert _focus(services, slug) == rows
    assert services.store.list_transitions(slug, run_id) == history


def test_a_step_runner_killed_mid_step_is_replaced_and_the_run_completes_once(
    function_stack: Stack, services: Services
) -> None:
    slug = "topo_crash"
    api_key, run_id = _started(
        function_stack, services, slug, FAST_LEASE_PIPELINE, running="calculate_daily_costs"
    )

    kill_function(function_stack, "step_runner")  # the instance dies mid-step
    restart_function(function_stack, "step_runner")  # a new instance comes up

    # Redeliveries of the dead runner's message are refused (and redelivered) while its
    # lease is live; once it expires (timeout 5 s + 2 s grace), one reclaims the attempt.
    final = _wait(function_stack, slug, api_key, run_id, timeout=180)
    assert final["status"] == "completed", final
    steps = {s["step_id"]: s for s in final["steps"]}
    rows = _focus(services, slug)
    assert len(rows) == steps["convert_to_focus"]["rows_written"] > 300
    assert len({(r[0], r[1]) for r in rows}) == len(rows)  # no duplicate rows
    assert {r[3] for r in rows} == {run_id}


def test_cancel_while_a_step_runs_stops_the_run_and_frees_the_slot(
    function_stack: Stack, services: Services
) -> None:
    slug = "topo_cancel"
    api_key, run_id = _started(function_stack, services, slug, SLOW_PIPELINE, running="wait")
    assert services.store.quota_usage(slug, services.clock.now()).concurrent == 1

    status, body = _http(
        "POST",
        f"{function_stack.api_url}/api/v1/pipelines/cancel/{slug}/{run_id}",
        api_key,
        {"reason": "wrong window"},
    )

    assert status == 200, body
    assert body["status"] == "cancelled"
    assert services.store.quota_usage(slug, services.clock.now()).concurrent == 0  # released
    # The runner notices within its poll interval, returns, and reports over Pub/Sub; the
    # coordinator ignores the late outcome and starts nothing after it.
    deadline = time.monotonic() + 30
    while not any(
        "attempt 1 succeeded" in entry.message
        for entry in services.store.list_logs(slug, run_id)
        if entry.step_id == "wait"
    ):
        assert time.monotonic() < deadline, "the running step never noticed the cancel"
        time.sleep(0.2)
    time.sleep(2)  # room for the late step event to be pushed and handled
    final = _wait(function_stack, slug, api_key, run_id)
    assert final["status"] == "cancelled"
    steps = {s["step_id"]: s["status"] for s in final["steps"]}
    assert steps == {"wait": "cancelled", "after": "skipped"}
    assert services.store.get_steps(run_id)["after"].attempt == 0  # never ran
    assert services.store.quota_usage(slug, services.clock.now()).concurrent == 0


def test_a_run_request_published_twice_on_pubsub_runs_once(
    function_stack: Stack, services: Services
) -> None:
    slug, run_id = "topo_pubsub", "pubsub-request-0001"
    api_key = _org(services, slug)
    body = json.dumps(
        {
            "org_slug": slug,
            "pipeline": PIPELINE,
            "run_id": run_id,
            "start_date": OCTOBER[0],
            "end_date": OCTOBER[1],
        }
    ).encode()
    publisher = PublisherClient()
    topic = topic_path(function_stack.project, Topic.RUN_REQUESTS)
    for _ in range(2):  # another service retrying its publish
        publisher.publish(topic, body).result(timeout=30)

    deadline = time.monotonic() + 60
    while services.store.get_run(slug, run_id) is None:
        assert time.monotonic() < deadline, "the run request was not dispatched"
        time.sleep(0.2)
    final = _wait(function_stack, slug, api_key, run_id)

    assert final["status"] == "completed", final
    assert final["trigger"] == "pubsub"
    assert [r.run_id for r in services.store.list_runs(slug)] == [run_id]
    assert services.store.quota_usage(slug, services.clock.now()).daily == 1


def test_racing_schedule_ticks_fire_a_due_schedule_once_through_the_maintenance_function(
    function_stack: Stack, services: Services
) -> None:
    slug = "topo_sched"
    api_key = _org(services, slug)
    schedule = scheduler.create_schedule(
        services, {"org_slug": slug, "pipeline": PIPELINE, "cron": "0 3 * * *"}
    )
    assert services.schedules is not None
    schedule.next_fire_at = services.clock.now().replace(microsecond=0) - timedelta(minutes=1)
    services.schedules.update_schedule(schedule)  # due now

    publisher = PublisherClient()
    topic = topic_path(function_stack.project, JobTopic.SCHEDULES_TICK)
    for _ in range(3):  # Cloud Scheduler retrying, ticks overlapping: all pushed at once
        publisher.publish(topic, b'{"job": "schedules-tick"}').result(timeout=30)

    deadline = time.monotonic() + 60
    while not services.store.list_runs(slug):
        assert time.monotonic() < deadline, "the schedule never fired"
        time.sleep(0.2)
    [run] = services.store.list_runs(slug)
    final = _wait(function_stack, slug, api_key, run.run_id)
    assert final["status"] == "completed", final
    assert final["trigger"] == "schedule"
    time.sleep(1)  # late ticks would have fired by now
    [fire] = services.schedules.list_fires(schedule_id=schedule.schedule_id)
    assert (fire.run_id, fire.status.value) == (run.run_id, "dispatched")
    assert [r.run_id for r in services.store.list_runs(slug)] == [run.run_id]
    moved = services.schedules.get_schedule(schedule.schedule_id)
    assert moved is not None
    assert moved.next_fire_at is not None
    assert moved.next_fire_at > services.clock.now()  # moved on to its next 03:00


def test_a_poison_message_is_parked_on_the_dead_letter_topic(function_stack: Stack) -> None:
    publisher = PublisherClient()
    topic = topic_path(function_stack.project, Topic.STEP_REQUESTS)
    message_id = publisher.publish(topic, b"{not json", run_id="poison").result(timeout=30)

    subscriber = SubscriberClient()
    subscription = f"projects/{function_stack.project}/subscriptions/step-requests-dead-letter"
    parked: dict[str, str] = {}
    deadline = time.monotonic() + 30
    try:
        while not parked and time.monotonic() < deadline:
            response = subscriber.pull(subscription=subscription, max_messages=10, timeout=5)
            for received in response.received_messages:
                attrs = dict(received.message.attributes)
                if attrs.get("source_message_id") == message_id:
                    parked = attrs
                    assert received.message.data == b"{not json"
                subscriber.acknowledge(subscription=subscription, ack_ids=[received.ack_id])
    finally:
        subscriber.close()
    assert parked, "the poison message never reached the dead-letter topic"
    assert parked["run_id"] == "poison"
    assert parked["source_topic"] == "step-requests"
    assert "BadRequest" in parked["error"]
