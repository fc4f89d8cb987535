"""What every Pub/Sub-triggered function does around its handler.

A function receives a CloudEvent whose ``data`` is ``{"message": {"data": base64,
"attributes": {...}, "messageId": ..., "publishTime": ...}, "subscription": ...}``
(functions-framework builds the same shape from a raw emulator push). Rules:

- a delayed message (``not_before``) is held until due: short waits sleep, long ones
  raise NotDue so Pub/Sub redelivers later (see shared/adapters/pubsub_bus.py);
- a malformed or poison message (an error shared/adapters/outages.py classifies as not
  retryable: BadRequest and the other permanent 4xx errors) is logged with its message
  id, published to ``<topic>-dead-letter`` and acknowledged by returning normally: it
  can never succeed, so redelivering it would loop forever;
- any other exception propagates: the function fails and Pub/Sub redelivers. Handlers
  are idempotent on (run_id, step_id, attempt), so a redelivery is safe.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shared.adapters.outages import classify
from shared.adapters.pubsub_bus import hold_until_due
from shared.domain.errors import BadRequest

log = logging.getLogger(__name__)


class DeadLetters(Protocol):
    def dead_letter(self, topic: str, data: bytes, attributes: Mapping[str, str]) -> None: ...


@dataclass(frozen=True, slots=True)
class PubSubDelivery:
    message_id: str
    data: bytes
    attributes: dict[str, str] = field(default_factory=dict)
    publish_time: datetime | None = None


def delivery_from_event(event_data: Any) -> PubSubDelivery:
    """The Pub/Sub message inside a CloudEvent's data; BadRequest if the envelope is broken."""
    message = event_data.get("message") if isinstance(event_data, Mapping) else None
    if not isinstance(message, Mapping):
        raise BadRequest("CloudEvent data has no Pub/Sub message")
    message_id = str(message.get("messageId") or message.get("message_id") or "?")
    try:
        data = base64.b64decode(message.get("data") or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise BadRequest(f"message {message_id}: data is not base64") from None
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise BadRequest(f"message {message_id}: attributes is not an object")
    published = message.get("publishTime") or message.get("publish_time")
    publish_time = None
    if isinstance(published, str):
        try:
            publish_time = datetime.fromisoformat(published.replace("Z", "+00:00"))
        except ValueError:
            publish_time = None
    return PubSubDelivery(
        message_id, data, {str(k): str(v) for k, v in attributes.items()}, publish_time
    )


def consume(
    event_data: Any,
    topic: str,
    handle: Callable[[PubSubDelivery], None],
    dead_letters: Callable[[], DeadLetters],
) -> None:
    """Run ``handle`` on the event's message with the rules in the module docstring."""
    try:
        delivery = delivery_from_event(event_data)
    except BadRequest as exc:
        _poison(topic, "?", b"", {}, exc, dead_letters)
        return
    hold_until_due(delivery.attributes)
    try:
        handle(delivery)
    except Exception as exc:
        if classify(exc).retryable:
            raise  # the function fails: Pub/Sub redelivers
        _poison(topic, delivery.message_id, delivery.data, delivery.attributes, exc, dead_letters)


def _poison(
    topic: str,
    message_id: str,
    data: bytes,
    attributes: Mapping[str, str],
    exc: Exception,
    dead_letters: Callable[[], DeadLetters],
) -> None:
    # The error text, never the body: a body may carry parameters we do not log.
    log.error(
        "poison message %s on %s, dead-lettered: %s: %s",
        message_id,
        topic,
        type(exc).__name__,
        exc,
    )
    dead_letters().dead_letter(
        topic,
        data,
        {
            **attributes,
            "source_message_id": message_id,
            "source_topic": topic,
            "error": f"{type(exc).__name__}: {exc}"[:1000],
        },
    )


@functools.cache
def dead_letters() -> DeadLetters:
    """This process's dead-letter publisher (Pub/Sub in the project of PIPELINES_PROJECT_ID)."""
    from shared.adapters.pubsub_bus import PubSubBus
    from shared.config.settings import Settings

    return PubSubBus(Settings.from_env().project_id)
