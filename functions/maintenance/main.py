"""Cloud Functions for the periodic jobs (shared/config/jobs.py): quota rollovers, the stale
slot sweep and the schedules tick. Each is triggered by its Cloud Scheduler topic; the
message body is not read (the time that matters is now). Every job is idempotent, so a
redelivered tick is harmless; an exception fails the delivery and Pub/Sub retries it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.config.jobs import JobTopic
from shared.entrypoints.pubsub.functions import PubSubDelivery, consume, dead_letters

if TYPE_CHECKING:  # the services module pulls in pydantic models: not at cold import
    from shared.handlers.services import Services

log = logging.getLogger(__name__)


@functools.cache
def _services() -> Services:
    from shared.bootstrap.embedded import build_services  # heavy: built on the first message, once

    return build_services()


def _job(topic: JobTopic, work: Callable[[Services], str]) -> Callable[[PubSubDelivery], None]:
    def handle(delivery: PubSubDelivery) -> None:
        log.info("%s (message %s): %s", topic.value, delivery.message_id, work(_services()))

    return handle


def _daily(services: Services) -> str:
    from shared.handlers.maintenance import reset_daily_quotas

    return f"{len(reset_daily_quotas(services))} orgs closed"


def _monthly(services: Services) -> str:
    from shared.handlers.maintenance import reset_monthly_quotas

    report, purged = reset_monthly_quotas(services)
    return f"{len(report)} orgs closed, {purged} reservations purged"


def _stale(services: Services) -> str:
    from shared.handlers.maintenance import reset_stale_concurrent_counts

    return f"{len(reset_stale_concurrent_counts(services))} slots released"


def _schedules(services: Services) -> str:
    from shared.handlers.scheduler import process_queue, tick

    fired = tick(services)
    retried = process_queue(services)  # firings that met a full quota before
    return f"{len(fired)} schedules fired, {len(retried)} queued firings retried"


@functions_framework.cloud_event
def reset_daily_quotas(event: CloudEvent) -> None:
    topic = JobTopic.QUOTA_RESET_DAILY
    consume(event.data, topic, _job(topic, _daily), dead_letters)


@functions_framework.cloud_event
def reset_monthly_quotas(event: CloudEvent) -> None:
    topic = JobTopic.QUOTA_RESET_MONTHLY
    consume(event.data, topic, _job(topic, _monthly), dead_letters)


@functions_framework.cloud_event
def reset_stale_concurrent_counts(event: CloudEvent) -> None:
    topic = JobTopic.STALE_SWEEP
    consume(event.data, topic, _job(topic, _stale), dead_letters)


@functions_framework.cloud_event
def schedules_tick(event: CloudEvent) -> None:
    topic = JobTopic.SCHEDULES_TICK
    consume(event.data, topic, _job(topic, _schedules), dead_letters)
