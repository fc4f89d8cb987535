"""Cloud Function ``coordinator``: records each step outcome, retries, advances the DAG."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.domain.messages import StepEvent, Topic, decode
from shared.entrypoints.pubsub.functions import PubSubDelivery, consume, dead_letters

if TYPE_CHECKING:  # the services module pulls in pydantic models: not at cold import
    from shared.handlers.services import Services


@functools.cache
def _services() -> Services:
    from shared.bootstrap.embedded import build_services  # heavy: built on the first message, once

    return build_services()


def _handle(delivery: PubSubDelivery) -> None:
    from shared.handlers.coordinate import coordinate

    message = decode(Topic.STEP_EVENTS, delivery.data)
    assert isinstance(message, StepEvent)
    coordinate(_services(), message)


@functions_framework.cloud_event
def coordinator(event: CloudEvent) -> None:
    consume(event.data, Topic.STEP_EVENTS, _handle, dead_letters)
