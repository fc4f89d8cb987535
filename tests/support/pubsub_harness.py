"""The function topology's message path, in this process, on the Pub/Sub emulator.

Real topics and pull subscriptions on the emulator carry the messages; each delivery is
handed to the deployed functions' own code (``functions/step_runner/main.py`` and
``functions/coordinator/main.py``: their ``_handle`` through ``functions_support.consume``)
with the test's Services. What a push endpoint answers maps onto the pull API: a handler
that returns acknowledges; one that raises (a crash, LeaseHeld, NotDue) is nacked with a
short backoff, so Pub/Sub redelivers it; a delivery the consumer "loses" is neither
acknowledged nor nacked and comes back when its ack deadline expires.

Running the functions in-process (instead of as functions-framework processes, as
tests/integration/test_function_topology.py does) is what lets a test wrap the ports
with the fault injectors of tests/support/faults.py.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import logging
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud.pubsub_v1 import SubscriberClient

from shared.adapters.pubsub_bus import topic_path
from shared.devtools.stack import REPO
from shared.domain.messages import Topic
from shared.entrypoints.pubsub.functions import PubSubDelivery, consume
from shared.handlers.services import Services
from tests.support.faults import MessageMatch

log = logging.getLogger(__name__)

ACK_DEADLINE_SECONDS = 2  # the emulator accepts < 10 s (Pub/Sub's minimum): faster tests
NACK_BACKOFF_SECONDS = 1  # stands in for the subscription's retry policy backoff

_FUNCTIONS = {Topic.STEP_REQUESTS: "step_runner", Topic.STEP_EVENTS: "coordinator"}


def load_function(name: str) -> ModuleType:
    """A function's main.py under its own module name (every function's file is main.py)."""
    spec = importlib.util.spec_from_file_location(
        f"faults_fn_{name}", REPO / "functions" / name / "main.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _DeadLetters:
    def __init__(self) -> None:
        self.parked: list[tuple[str, bytes]] = []

    def dead_letter(self, topic: str, data: bytes, attributes: Any) -> None:
        self.parked.append((topic, data))


class PubSubConsumer:
    """Pulls step-requests and step-events for ``project`` and runs the functions' handlers.

    One delivery at a time per subscription (a function with max instances 1): the
    Firestore emulator stalls for ~30 s on contended transactions (LOCAL_STACK.md), so
    concurrent duplicates are left to the embedded suite; here copies and redeliveries
    of a message are handled one after another, with the step runner and the
    coordinator running side by side.
    """

    def __init__(self, project: str, services: Services) -> None:
        self.project = project
        self.subscriber = SubscriberClient()
        self.dead_letters = _DeadLetters()
        self.handled: list[tuple[str, str]] = []  # (topic, messageId) acknowledged, in order
        self.nacks: list[str] = []  # why each nacked delivery failed
        self.lost: list[str] = []
        self._losses: list[tuple[MessageMatch, list[int]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._busy = 0
        self._last_activity = time.monotonic()
        self._handlers: dict[Topic, Callable[[PubSubDelivery], None]] = {}
        for topic, name in _FUNCTIONS.items():
            module = load_function(name)
            # The function's composition root, replaced by the test's Services.
            module.__dict__["_services"] = lambda: services
            self._handlers[topic] = module.__dict__["_handle"]
        self._subscriptions = {topic: self._subscribe(topic) for topic in _FUNCTIONS}
        self._in_hand: dict[str, str] = {}  # ack_id -> subscription, while a handler runs
        self._owed: set[str] = set()  # message ids nacked or lost, not yet acknowledged
        self._threads = [
            threading.Thread(target=self._pull, args=(topic,), daemon=True, name=f"pull-{topic}")
            for topic in _FUNCTIONS
        ]
        self._threads.append(threading.Thread(target=self._keep_leases, daemon=True))
        for thread in self._threads:
            thread.start()

    def lose(self, match: MessageMatch, *, times: int = 1) -> None:
        """Take matching deliveries and drop them on the floor: no ack, no nack."""
        self._losses.append((match, [times]))

    def _subscribe(self, topic: Topic) -> str:
        name = f"projects/{self.project}/subscriptions/{topic.value}-pull"
        with contextlib.suppress(gexc.AlreadyExists):
            self.subscriber.create_subscription(
                request={
                    "name": name,
                    "topic": topic_path(self.project, topic),
                    "ack_deadline_seconds": ACK_DEADLINE_SECONDS,
                }
            )
        return name

    def _pull(self, topic: Topic) -> None:
        subscription = self._subscriptions[topic]
        while not self._stop.is_set():
            try:
                response = self.subscriber.pull(
                    subscription=subscription, max_messages=1, timeout=0.5
                )
            except (gexc.DeadlineExceeded, gexc.ServiceUnavailable):
                continue
            for received in response.received_messages:
                with self._lock:
                    self._busy += 1
                    self._last_activity = time.monotonic()
                self._deliver(topic, subscription, received)

    def _keep_leases(self) -> None:
        """Extend the ack deadline of messages being handled, as the streaming-pull client
        does: only a delivery whose handler vanished lets its deadline run out."""
        while not self._stop.wait(ACK_DEADLINE_SECONDS / 3):
            with self._lock:
                in_hand = dict(self._in_hand)
            for ack_id, subscription in in_hand.items():
                with contextlib.suppress(gexc.GoogleAPICallError):
                    self.subscriber.modify_ack_deadline(
                        subscription=subscription,
                        ack_ids=[ack_id],
                        ack_deadline_seconds=ACK_DEADLINE_SECONDS,
                    )

    def _deliver(self, topic: Topic, subscription: str, received: Any) -> None:
        message = received.message
        event_data = {
            "message": {
                "data": base64.b64encode(message.data).decode(),
                "attributes": dict(message.attributes),
                "messageId": message.message_id,
            }
        }
        try:
            if self._should_lose(topic, message.data):
                with self._lock:
                    self.lost.append(message.message_id)
                    self._owed.add(message.message_id)
                return  # the instance vanished with it: Pub/Sub redelivers after the deadline
            with self._lock:
                self._in_hand[received.ack_id] = subscription
            try:
                consume(event_data, topic.value, self._handlers[topic], lambda: self.dead_letters)
            except BaseException as exc:
                log.info("delivery %s failed, nacked: %r", message.message_id, exc)
                with self._lock:
                    self.nacks.append(f"{topic.value}: {exc!r}")
                    self._owed.add(message.message_id)
                self.subscriber.modify_ack_deadline(
                    subscription=subscription,
                    ack_ids=[received.ack_id],
                    ack_deadline_seconds=NACK_BACKOFF_SECONDS,
                )
                return
            self.subscriber.acknowledge(subscription=subscription, ack_ids=[received.ack_id])
            with self._lock:
                self.handled.append((topic.value, message.message_id))
                self._owed.discard(message.message_id)
        finally:
            with self._lock:
                self._in_hand.pop(received.ack_id, None)
                self._busy -= 1
                self._last_activity = time.monotonic()

    def _should_lose(self, topic: Topic, data: bytes) -> bool:
        from shared.domain.messages import decode

        if not self._losses:
            return False
        try:
            message = decode(topic, data)
        except Exception:
            return False
        with self._lock:
            for match, left in self._losses:
                if left[0] > 0 and match(message):
                    left[0] -= 1
                    return True
        return False

    def settle(self, quiet: float = 0.5, timeout: float = 60.0) -> None:
        """Wait until every nacked or lost delivery came back and was acknowledged, and
        nothing has been pulled or handled for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                idle = (
                    not self._busy
                    and not self._owed
                    and time.monotonic() - self._last_activity >= quiet
                )
            if idle:
                return
            time.sleep(0.05)
        raise AssertionError(f"deliveries still going after {timeout} s")

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for subscription in self._subscriptions.values():
            with contextlib.suppress(gexc.NotFound):
                self.subscriber.delete_subscription(subscription=subscription)
        self.subscriber.close()
