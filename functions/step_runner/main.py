"""Cloud Function ``step_runner``: one step-requests message = one step attempt."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.domain.messages import StepRequest, Topic, decode
from shared.domain.states import StepStatus
from shared.functions_support import PubSubDelivery, consume, dead_letters

if TYPE_CHECKING:  # the services module pulls in pydantic models: not at cold import
    from shared.handlers.services import Services


class LeaseHeld(Exception):
    """Another delivery holds this attempt's lease: redeliver until it reports or expires."""


@functools.cache
def _services() -> Services:
    from shared.runtime import build_services  # heavy: built on the first message, once

    return build_services()


def _handle(delivery: PubSubDelivery) -> None:
    from shared.handlers.run_step import run_step

    message = decode(Topic.STEP_REQUESTS, delivery.data)
    assert isinstance(message, StepRequest)
    services = _services()
    if run_step(services, message) is None and _lease_held(services, message):
        # run_step drops a message whose attempt is leased by a live runner. On Pub/Sub
        # that runner may have died (instance killed mid-step): acknowledging would lose
        # the step until a sweep. Failing instead makes Pub/Sub redeliver with backoff;
        # once the runner reports, the redelivery is dropped, and once its lease expires,
        # the redelivery reclaims the attempt.
        raise LeaseHeld(f"{message.run_id}/{message.step_id} attempt {message.attempt}")


def _lease_held(services: Services, message: StepRequest) -> bool:
    step = services.store.get_steps(message.run_id).get(message.step_id)
    return (
        step is not None
        and step.status == StepStatus.RUNNING
        and step.attempt == message.attempt
        and step.lease_until is not None
        and step.lease_until > services.clock.now()
    )


@functions_framework.cloud_event
def step_runner(event: CloudEvent) -> None:
    consume(event.data, Topic.STEP_REQUESTS, _handle, dead_letters)
