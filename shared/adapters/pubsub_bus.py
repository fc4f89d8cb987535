"""MessageBus on Cloud Pub/Sub, through the official client.

Publishing: one topic per message type (``messages.Topic``), the JSON body from
``messages.encode`` and the routing attributes from ``messages.attributes``
(run_id, org_slug, step_id, attempt), so a consumer can log and deduplicate without
decoding the body. ``publish`` waits for the server's message id: a publish that
returns has been accepted (at-least-once starts there).

Delays: Pub/Sub has no delayed delivery. A delayed message carries a ``not_before``
attribute (UTC epoch seconds) and is published at once; the consumer calls
:func:`hold_until_due`, which sleeps when the wait is short (up to
``MAX_SLEEP_SECONDS``, cheaper than a redelivery round trip) and otherwise raises
:class:`NotDue`. The function then fails, so Pub/Sub redelivers with the
subscription's retry backoff (10-600 s in terraform/) until the message is due. A
message is never handled early; it may be handled somewhat late (by up to one backoff
interval), which suits step retries whose delays are seconds to minutes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud.pubsub_v1 import PublisherClient

from shared.config.jobs import JobTopic
from shared.domain.messages import Message, Topic, attributes, encode

NOT_BEFORE = "not_before"
MAX_SLEEP_SECONDS = 10.0
_PUBLISH_TIMEOUT_S = 60.0


class NotDue(Exception):
    """The message is delayed; fail the delivery so Pub/Sub redelivers it later."""

    def __init__(self, seconds_left: float) -> None:
        super().__init__(f"message not due for {seconds_left:.1f} s; redeliver later")
        self.seconds_left = seconds_left


def topic_path(project_id: str, topic: Topic | JobTopic | str) -> str:
    name = JobTopic(topic).value if topic in set(JobTopic) else Topic(topic).value
    return f"projects/{project_id}/topics/{name}"


def dead_letter_topic_path(project_id: str, topic: Topic | JobTopic | str) -> str:
    return f"{topic_path(project_id, topic)}-dead-letter"


class PubSubBus:
    """The MessageBus port on Pub/Sub topics of one project."""

    def __init__(
        self,
        project_id: str,
        publisher: PublisherClient | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Imported here: the client costs ~0.5 s to import, and the functions import this
        # module for the delay helpers on every cold start.
        from google.cloud.pubsub_v1 import PublisherClient, types

        self.project_id = project_id
        # Every publish waits for its server ack (at-least-once, in handler order), so
        # batching would only add its 10 ms collection window to each message.
        self._publisher = publisher or PublisherClient(
            batch_settings=types.BatchSettings(max_messages=1)
        )
        self._clock = clock

    def publish(self, message: Message, *, delay_seconds: float = 0.0) -> None:
        attrs = attributes(message)
        if delay_seconds > 0:
            attrs[NOT_BEFORE] = f"{self._clock() + delay_seconds:.3f}"
        future = self._publisher.publish(
            topic_path(self.project_id, message.topic), encode(message), **attrs
        )
        future.result(timeout=_PUBLISH_TIMEOUT_S)

    def publish_all(self, messages: Sequence[Message]) -> None:
        # Every publish is its own batch (max_messages=1), sent by the client's own
        # thread at once: waiting for the acks after sending them all costs about one
        # round trip, not one per message (199 in a row took ~2 s for a fan-out's root).
        futures = [
            self._publisher.publish(
                topic_path(self.project_id, message.topic), encode(message), **attributes(message)
            )
            for message in messages
        ]
        for future in futures:
            future.result(timeout=_PUBLISH_TIMEOUT_S)

    def dead_letter(self, topic: str, data: bytes, attributes: Mapping[str, str]) -> None:
        """Park a message that can never be handled on ``<topic>-dead-letter``."""
        future = self._publisher.publish(
            dead_letter_topic_path(self.project_id, topic), data, **dict(attributes)
        )
        future.result(timeout=_PUBLISH_TIMEOUT_S)

    def ensure_topics(self, topics: Iterable[Topic | JobTopic | str] = (*Topic, *JobTopic)) -> None:
        """Create the topics and their dead-letter topics if absent (emulator and tests;
        terraform owns them in GCP)."""
        from google.api_core import exceptions as gexc

        for topic in topics:
            for path in (
                topic_path(self.project_id, topic),
                dead_letter_topic_path(self.project_id, topic),
            ):
                with contextlib.suppress(gexc.AlreadyExists):
                    self._publisher.create_topic(name=path)


def seconds_until_due(attrs: Mapping[str, str], now: float | None = None) -> float:
    """How long before a delivered message may be handled (0 if due or not delayed)."""
    raw = attrs.get(NOT_BEFORE)
    if not raw:
        return 0.0
    try:
        not_before = float(raw)
    except ValueError:
        return 0.0  # a garbled delay must not hold a message forever
    return max(0.0, not_before - (time.time() if now is None else now))


def hold_until_due(
    attrs: Mapping[str, str],
    *,
    max_sleep: float = MAX_SLEEP_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Return once the message is due: sleep a short wait, raise NotDue for a long one."""
    left = seconds_until_due(attrs)
    if left <= 0:
        return
    if left > max_sleep:
        raise NotDue(left)
    sleep(left)
