"""Cloud Function ``step_runner``: one step-requests message = one step attempt."""

from __future__ import annotations

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.bootstrap.lazy import services_on_first_use
from shared.domain.messages import StepRequest, Topic, decode
from shared.entrypoints.pubsub.functions import PubSubDelivery, consume, dead_letters


class LeaseHeld(Exception):
    """Another delivery holds this attempt's lease: redeliver until it reports or expires."""


_services = services_on_first_use()  # built on the first message; tests replace it


def _handle(delivery: PubSubDelivery) -> None:
    from shared.handlers.run_step import Dropped, run_step

    message = decode(Topic.STEP_REQUESTS, delivery.data)
    assert isinstance(message, StepRequest)
    if run_step(_services(), message) is Dropped.LEASE_HELD:
        # On Pub/Sub the lease holder may have died (instance killed mid-step):
        # acknowledging would lose the step until a sweep. Failing instead makes Pub/Sub
        # redeliver with backoff; once the holder reports, the redelivery is dropped, and
        # once its lease expires, the redelivery reclaims the attempt.
        raise LeaseHeld(f"{message.run_id}/{message.step_id} attempt {message.attempt}")


@functions_framework.cloud_event
def step_runner(event: CloudEvent) -> None:
    consume(event.data, Topic.STEP_REQUESTS, _handle, dead_letters)
