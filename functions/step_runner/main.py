"""Cloud Function ``step_runner``: one step-requests message = one step attempt."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.domain.messages import StepRequest, Topic, decode
from shared.functions_support import PubSubDelivery, consume, dead_letters

if TYPE_CHECKING:  # the services module pulls in pydantic models: not at cold import
    from shared.handlers.services import Services


@functools.cache
def _services() -> Services:
    from shared.runtime import build_services  # heavy: built on the first message, once

    return build_services()


def _handle(delivery: PubSubDelivery) -> None:
    from shared.handlers.run_step import run_step

    message = decode(Topic.STEP_REQUESTS, delivery.data)
    assert isinstance(message, StepRequest)
    run_step(_services(), message)


@functions_framework.cloud_event
def step_runner(event: CloudEvent) -> None:
    consume(event.data, Topic.STEP_REQUESTS, _handle, dead_letters)
