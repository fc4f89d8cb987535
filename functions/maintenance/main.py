"""Cloud Functions for the periodic jobs (shared/config/jobs.py): quota rollovers, the stale
slot sweep, the schedules tick and the BigQuery meta tables' catch-up. Each is triggered
by its Cloud Scheduler topic; the message body is not read (the time that matters is now).
Every job is idempotent, so a redelivered tick is harmless; an exception fails the
delivery and Pub/Sub retries it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.bootstrap.lazy import services_on_first_use
from shared.config.jobs import JobTopic
from shared.entrypoints.pubsub.functions import PubSubDelivery, consume, dead_letters

if TYPE_CHECKING:  # the services module pulls in pydantic models: not at cold import
    from shared.handlers.services import Services

log = logging.getLogger(__name__)


_services = services_on_first_use()  # built on the first message; tests replace it


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


def _meta(services: Services) -> str:
    from shared.handlers.meta_mirror import catch_up

    return catch_up(services).summary()


def _entry_point(
    name: str, topic: JobTopic, work: Callable[[Services], str]
) -> Callable[[CloudEvent], None]:
    """The Cloud Function ``name``: runs ``work`` for each push from ``topic``."""

    def entry_point(event: CloudEvent) -> None:
        consume(event.data, topic, _job(topic, work), dead_letters)

    entry_point.__name__ = entry_point.__qualname__ = name  # functions-framework's registry key
    return functions_framework.cloud_event(entry_point)


reset_daily_quotas = _entry_point("reset_daily_quotas", JobTopic.QUOTA_RESET_DAILY, _daily)
reset_monthly_quotas = _entry_point("reset_monthly_quotas", JobTopic.QUOTA_RESET_MONTHLY, _monthly)
reset_stale_concurrent_counts = _entry_point(
    "reset_stale_concurrent_counts", JobTopic.STALE_SWEEP, _stale
)
schedules_tick = _entry_point("schedules_tick", JobTopic.SCHEDULES_TICK, _schedules)
meta_catch_up = _entry_point("meta_catch_up", JobTopic.META_CATCH_UP, _meta)
