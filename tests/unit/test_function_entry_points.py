"""The Pub/Sub functions through functions-framework, fed raw emulator-style pushes.

The framework turns a raw push envelope into the CloudEvent a deployed function gets
(see ENGINE_PATTERNS.md §2); the handlers themselves are tested elsewhere, so here
they are replaced to observe what the entry point decides: handle, redeliver (HTTP
500) or dead-letter and acknowledge.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import functions_framework
import pytest
from flask.testing import FlaskClient

import shared.handlers.coordinate
import shared.handlers.run_step
from shared.domain.errors import BadRequest
from shared.domain.messages import StepEvent, StepRequest, attributes, encode
from shared.handlers.run_requests import parse_run_request
from shared.handlers.run_step import Dropped

ROOT = Path(__file__).resolve().parents[2]


class RecordingDeadLetters:
    def __init__(self) -> None:
        self.parked: list[tuple[str, bytes, dict[str, str]]] = []

    def dead_letter(self, topic: str, data: bytes, attributes: Mapping[str, str]) -> None:
        self.parked.append((topic, data, dict(attributes)))


def _load(function: str, target: str) -> tuple[FlaskClient, ModuleType]:
    app = functions_framework.create_app(target, str(ROOT / "functions" / function / "main.py"))
    return app.test_client(), sys.modules["main"]


def _push(
    client: FlaskClient, topic: str, data: bytes, attrs: dict[str, str], message_id: str = "m-1"
) -> int:
    envelope = {
        "message": {
            "data": base64.b64encode(data).decode(),
            "attributes": attrs,
            "messageId": message_id,
            "publishTime": "2026-03-10T12:00:00Z",
        },
        "subscription": f"projects/p/subscriptions/{topic}-push",
    }
    response = client.post(f"/projects/p/topics/{topic}", json=envelope)
    return int(response.status_code)


@pytest.fixture
def dead_letters(monkeypatch: pytest.MonkeyPatch) -> RecordingDeadLetters:
    recorder = RecordingDeadLetters()
    monkeypatch.setattr("shared.entrypoints.pubsub.functions.dead_letters", lambda: recorder)
    return recorder


REQUEST = StepRequest("run-1", "acme", "extract", 2)


@pytest.fixture
def step_runner(
    monkeypatch: pytest.MonkeyPatch, dead_letters: RecordingDeadLetters
) -> tuple[FlaskClient, list[Any]]:
    client, module = _load("step_runner", "step_runner")
    monkeypatch.setattr(module, "dead_letters", lambda: dead_letters)
    monkeypatch.setattr(module, "_services", lambda: "services")
    calls: list[Any] = []
    monkeypatch.setattr(
        shared.handlers.run_step, "run_step", lambda services, msg: calls.append((services, msg))
    )
    return client, calls


def test_a_step_request_reaches_the_handler_decoded(
    step_runner: tuple[FlaskClient, list[Any]], dead_letters: RecordingDeadLetters
) -> None:
    client, calls = step_runner
    assert _push(client, "step-requests", encode(REQUEST), attributes(REQUEST)) == 200
    assert [message for _, message in calls] == [REQUEST]
    assert dead_letters.parked == []


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        # Another runner holds the attempt's live lease (it may have died): redeliver.
        (Dropped.LEASE_HELD, 500),
        # Finished, superseded, or nothing left to run: a drop is final.
        (Dropped.TAKEN, 200),
        (Dropped.RUN_FINISHED, 200),
        (Dropped.UNKNOWN_RUN, 200),
        (StepEvent("run-1", "acme", "extract", 2, succeeded=False, error="boom"), 200),
    ],
)
def test_a_dropped_request_is_redelivered_only_while_a_live_lease_holds_it(
    step_runner: tuple[FlaskClient, list[Any]],
    monkeypatch: pytest.MonkeyPatch,
    outcome: Dropped | StepEvent,
    status: int,
) -> None:
    client, _ = step_runner
    monkeypatch.setattr(shared.handlers.run_step, "run_step", lambda services, msg: outcome)
    assert _push(client, "step-requests", encode(REQUEST), attributes(REQUEST)) == status


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", json.dumps({"run_id": "r"}).encode(), b""]
)
def test_a_malformed_message_is_dead_lettered_and_acknowledged(
    step_runner: tuple[FlaskClient, list[Any]], dead_letters: RecordingDeadLetters, body: bytes
) -> None:
    client, calls = step_runner
    assert _push(client, "step-requests", body, {"run_id": "r"}, message_id="m-42") == 200
    assert calls == []
    [(topic, data, attrs)] = dead_letters.parked
    assert (topic, data) == ("step-requests", body)
    assert attrs["source_message_id"] == "m-42"
    assert attrs["run_id"] == "r"
    assert "BadRequest" in attrs["error"]


def test_a_handler_exception_fails_the_delivery_so_pubsub_redelivers(
    step_runner: tuple[FlaskClient, list[Any]],
    dead_letters: RecordingDeadLetters,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, _ = step_runner

    def boom(services: Any, message: Any) -> None:
        raise RuntimeError("warehouse unreachable")

    monkeypatch.setattr(shared.handlers.run_step, "run_step", boom)
    assert _push(client, "step-requests", encode(REQUEST), attributes(REQUEST)) == 500
    assert dead_letters.parked == []


def test_a_message_not_yet_due_is_redelivered_not_handled(
    step_runner: tuple[FlaskClient, list[Any]],
) -> None:
    client, calls = step_runner
    attrs = {**attributes(REQUEST), "not_before": f"{time.time() + 300:.3f}"}
    assert _push(client, "step-requests", encode(REQUEST), attrs) == 500
    assert calls == []


def test_the_coordinator_decodes_step_events(
    monkeypatch: pytest.MonkeyPatch, dead_letters: RecordingDeadLetters
) -> None:
    client, module = _load("coordinator", "coordinator")
    monkeypatch.setattr(module, "_services", lambda: "services")
    calls: list[Any] = []
    monkeypatch.setattr(shared.handlers.coordinate, "coordinate", lambda s, msg: calls.append(msg))
    event = StepEvent("run-1", "acme", "extract", 1, succeeded=True, rows_written=3)
    assert _push(client, "step-events", encode(event), attributes(event)) == 200
    assert calls == [event]
    # A step request on the events topic is malformed there: parked, not crashed on.
    assert _push(client, "step-events", encode(REQUEST), attributes(REQUEST)) == 200
    assert [p[0] for p in dead_letters.parked] == ["step-events"]


# -- run requests -----------------------------------------------------------------------


def test_run_request_defaults_to_yesterday_and_a_run_id_from_the_message() -> None:
    body = json.dumps({"org_slug": "acme", "pipeline": "saas/subscription/costs"}).encode()
    first = parse_run_request(body, message_id="m-1", trigger="schedule", today=date(2026, 3, 10))
    again = parse_run_request(body, message_id="m-1", trigger="schedule", today=date(2026, 3, 10))
    other = parse_run_request(body, message_id="m-2", trigger="schedule", today=date(2026, 3, 10))

    assert (first.provider, first.domain, first.pipeline) == ("saas", "subscription", "costs")
    assert (first.start_date, first.end_date) == (date(2026, 3, 9), date(2026, 3, 9))
    assert first.trigger == "schedule"
    assert first.run_id == again.run_id != other.run_id  # a redelivery is the same run


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"pipeline": "a/b/c"}, "org_slug"),
        ({"org_slug": "acme", "pipeline": "a/b"}, "pipeline"),
        ({"org_slug": "acme", "pipeline": "a/b/c", "parameters": []}, "parameters"),
        ({"org_slug": "acme", "pipeline": "a/b/c", "colour": "red"}, "colour"),
        ({"org_slug": "acme", "pipeline": "a/b/c", "date": "2026-13-01"}, "date"),
    ],
)
def test_a_bad_run_request_names_its_field(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_run_request(
            json.dumps(payload).encode(), message_id="m", trigger="pubsub", today=date(2026, 3, 10)
        )
    assert caught.value.details.get("field") == field
