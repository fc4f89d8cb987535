"""The MessageBus contract: every adapter must pass this same suite.

Each adapter comes with a harness that consumes what the bus delivers the way its
runtime does: the in-process bus calls handlers; Pub/Sub is read here through a pull
subscription that applies the consumer-side delay rule (``not_before``) before
decoding, as the functions do. To add an adapter, add one entry to HARNESSES.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from google.cloud.pubsub_v1 import SubscriberClient

from shared.adapters.inprocess_bus import InProcessBus
from shared.adapters.pubsub_bus import PubSubBus, seconds_until_due
from shared.domain.messages import (
    Message,
    StepEvent,
    StepRequest,
    Topic,
    attributes,
    decode,
    encode,
)
from shared.ports import MessageBus
from tests.support.contract import adapters
from tests.support.fakes import RecordingBus


def _keys(messages: list[Message]) -> set[bytes]:
    """Messages compared by their encoded body (a StepEvent holds a dict: unhashable)."""
    return {encode(m) for m in messages}


@dataclass(frozen=True)
class Delivered:
    message: Message
    attributes: dict[str, str]
    at: float  # wall-clock seconds


def _seen_keys(seen: list[Delivered]) -> set[bytes]:
    return _keys([d.message for d in seen])


class Harness(Protocol):
    @property
    def bus(self) -> MessageBus: ...

    def collect(self, expected: list[Message], timeout: float) -> list[Delivered]:
        """Deliveries until every ``expected`` message has arrived (or the timeout)."""
        ...

    def close(self) -> None: ...


class InProcessHarness:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[Delivered] = []
        handlers = {topic: self._record for topic in (Topic.STEP_REQUESTS, Topic.STEP_EVENTS)}
        self.bus: InProcessBus = InProcessBus(handlers, workers=2)

    def _record(self, message: Message) -> None:
        with self._lock:
            self._seen.append(Delivered(message, attributes(message), time.time()))

    def collect(self, expected: list[Message], timeout: float) -> list[Delivered]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if _keys(expected) <= _seen_keys(self._seen):
                    break
            time.sleep(0.02)
        with self._lock:
            return list(self._seen)

    def close(self) -> None:
        self.bus.close()


class PubSubHarness:
    """A fresh project on the emulator, its topics, and one pull subscription per topic."""

    TOPICS = (Topic.STEP_REQUESTS, Topic.STEP_EVENTS)

    def __init__(self) -> None:
        project = f"bus-{uuid.uuid4().hex[:8]}"  # isolates this test's topics
        self.bus: PubSubBus = PubSubBus(project)
        self.bus.ensure_topics(self.TOPICS)
        self._subscriber = SubscriberClient()
        self._subscriptions: dict[str, Topic] = {}
        for topic in self.TOPICS:
            name = f"projects/{project}/subscriptions/test-{topic.value}"
            self._subscriber.create_subscription(
                name=name, topic=f"projects/{project}/topics/{topic.value}", ack_deadline_seconds=10
            )
            self._subscriptions[name] = topic
        self._seen: list[Delivered] = []

    def collect(self, expected: list[Message], timeout: float) -> list[Delivered]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not _keys(expected) <= _seen_keys(self._seen):
            for name, topic in self._subscriptions.items():
                self._pull(name, topic)
        return list(self._seen)

    def _pull(self, name: str, topic: Topic) -> None:
        response = self._subscriber.pull(
            subscription=name, max_messages=100, timeout=5, return_immediately=True
        )
        due, early = [], []
        for received in response.received_messages:
            attrs = dict(received.message.attributes)
            if seconds_until_due(attrs) > 0:
                early.append(received.ack_id)  # what a function does: fail -> redelivery
                continue
            message = decode(topic, received.message.data)
            self._seen.append(Delivered(message, attrs, time.time()))
            due.append(received.ack_id)
        if due:
            self._subscriber.acknowledge(subscription=name, ack_ids=due)
        if early:
            self._subscriber.modify_ack_deadline(
                subscription=name, ack_ids=early, ack_deadline_seconds=0
            )
        if not response.received_messages or early:
            time.sleep(0.05)

    def close(self) -> None:
        self._subscriber.close()


class RecordingHarness:
    """The unit tests' fake (tests/support/fakes.py): nothing is delivered, so a message
    counts as delivered when it comes due (published + its delay), with its attributes."""

    def __init__(self) -> None:
        self.bus = RecordingBus()

    def collect(self, expected: list[Message], timeout: float) -> list[Delivered]:
        return [
            Delivered(p.message, attributes(p.message), p.at + p.delay_seconds)
            for p in self.bus.published
        ]

    def close(self) -> None:
        pass


HARNESSES: dict[str, Callable[[], Harness]] = {
    "inprocess": InProcessHarness,
    "pubsub": PubSubHarness,
    "recording": RecordingHarness,
}

harness = adapters(HARNESSES)


def _messages() -> list[Message]:
    requests: list[Message] = [StepRequest(f"run-{i % 3}", "acme", f"s{i}", 1) for i in range(12)]
    events: list[Message] = [
        StepEvent(
            "run-0",
            "acme",
            f"s{i}",
            2,
            succeeded=i % 2 == 0,
            error=None if i % 2 == 0 else "HTTP 503",
            retryable=i % 2 == 1,
            rows_written=10 * i,
            metrics={"seconds": 0.5 * i, "pages": i},
        )
        for i in range(4)
    ]
    return requests + events


def test_every_message_arrives_with_its_payload_and_attributes(harness: Harness) -> None:
    sent = _messages()
    for message in sent:
        harness.bus.publish(message)

    delivered = harness.collect(sent, timeout=20)

    assert _seen_keys(delivered) == _keys(sent)  # each at least once, nothing invented
    for d in delivered:
        assert d.attributes == attributes(d.message)
        assert d.attributes["attempt"] == str(d.message.attempt)


def test_publish_all_delivers_every_message(harness: Harness) -> None:
    sent = _messages()
    harness.bus.publish_all(sent)

    delivered = harness.collect(sent, timeout=20)

    assert _seen_keys(delivered) == _keys(sent)
    assert all(d.attributes == attributes(d.message) for d in delivered)


def test_delayed_message_is_not_delivered_early(harness: Harness) -> None:
    now = StepRequest("run-1", "acme", "now", 1)
    later = StepRequest("run-1", "acme", "later", 2)
    published_at = time.time()
    harness.bus.publish(later, delay_seconds=1.5)
    harness.bus.publish(now)

    delivered = harness.collect([now, later], timeout=20)

    by_step = {d.message.step_id: d for d in delivered}
    assert set(by_step) == {"now", "later"}
    assert by_step["later"].at >= published_at + 1.5
    assert by_step["now"].at < by_step["later"].at
    assert by_step["later"].message == later
