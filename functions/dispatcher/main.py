"""Cloud Functions ``run_requests`` and ``scheduler_tick`` (one source, two entry points).

HTTP run requests go through the ``api`` function (functions/api/main.py); these two
take run requests published by other services and by Cloud Scheduler jobs.
"""

from __future__ import annotations

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.bootstrap.lazy import services_on_first_use
from shared.domain.messages import Topic
from shared.entrypoints.pubsub.functions import PubSubDelivery, consume, dead_letters

_services = services_on_first_use()  # built on the first message; tests replace it


def _dispatch(delivery: PubSubDelivery, trigger: str) -> None:
    from shared.handlers.run_requests import dispatch_requested, parse_run_request

    services = _services()
    request = parse_run_request(
        delivery.data,
        message_id=delivery.message_id,
        trigger=trigger,
        today=services.clock.now().date(),
    )
    dispatch_requested(services, request)


@functions_framework.cloud_event
def run_requests(event: CloudEvent) -> None:
    consume(event.data, Topic.RUN_REQUESTS, lambda d: _dispatch(d, "pubsub"), dead_letters)


@functions_framework.cloud_event
def scheduler_tick(event: CloudEvent) -> None:
    consume(event.data, Topic.SCHEDULER_TICKS, lambda d: _dispatch(d, "schedule"), dead_letters)
