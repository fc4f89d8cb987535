"""Cloud Function ``coordinator``: records each step outcome, retries, advances the DAG."""

from __future__ import annotations

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.bootstrap.lazy import services_on_first_use
from shared.domain.messages import StepEvent, Topic, decode
from shared.entrypoints.pubsub.functions import PubSubDelivery, consume, dead_letters

_services = services_on_first_use()  # built on the first message; tests replace it


def _handle(delivery: PubSubDelivery) -> None:
    from shared.handlers.coordinate import coordinate

    message = decode(Topic.STEP_EVENTS, delivery.data)
    assert isinstance(message, StepEvent)
    coordinate(_services(), message)


@functions_framework.cloud_event
def coordinator(event: CloudEvent) -> None:
    consume(event.data, Topic.STEP_EVENTS, _handle, dead_letters)
