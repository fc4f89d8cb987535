"""The cloud runtime wires the operations stores on Firestore and delivers notifications
inside the handler (a function instance may stop once it acknowledges its message)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.adapters.firestore.ops import (
    FirestoreBackfillStore,
    FirestoreNotificationStore,
    FirestoreScheduleStore,
)
from shared.bootstrap.cloud import InlineNotifier, build_cloud_services
from shared.config.settings import Settings
from shared.devtools.emulators import Emulator
from shared.domain.notifications import DeliveryStatus, EventType, PipelineEvent
from shared.domain.schedules import Schedule
from shared.handlers.services import Services
from tests.support.emulators import EMULATOR_PROJECT, firestore_client
from tests.support.receivers import Webhook

T0 = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)


@pytest.fixture
def services(
    clean_firestore: Emulator,
    pubsub_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Services:
    monkeypatch.setenv("PIPELINES_RUNTIME", "emulators")
    monkeypatch.setenv("PIPELINES_PROJECT_ID", EMULATOR_PROJECT)
    monkeypatch.setenv("PIPELINES_HOME", str(tmp_path))
    monkeypatch.setenv("BIGQUERY_EMULATOR_URL", "http://127.0.0.1:9")  # not used here
    return build_cloud_services(Settings.from_env())


def test_operations_stores_are_firestore_in_the_emulators_project(services: Services) -> None:
    assert isinstance(services.schedules, FirestoreScheduleStore)
    assert isinstance(services.backfills, FirestoreBackfillStore)
    assert isinstance(services.events, InlineNotifier)
    assert isinstance(services.events.store, FirestoreNotificationStore)
    services.schedules.create_schedule(
        Schedule("s1", "acme", "aws/cost/billing", "0 4 * * *", True, {}, T0, T0, T0)
    )
    # Another process (another function) sees it: state is in Firestore, not in memory.
    assert FirestoreScheduleStore(firestore_client()).get_schedule("s1") is not None


def test_an_event_is_delivered_before_emit_returns(services: Services, hook: Webhook) -> None:
    notifier = services.events
    assert isinstance(notifier, InlineNotifier)
    notifier.set_org_settings(
        "acme", {"events": {"PIPELINE_FAILURE": ["slack"]}, "slack": {"webhook_url": hook.url}}
    )
    event = PipelineEvent(EventType.PIPELINE_FAILURE, "acme", "run-1", "a/b/c", T0, "boom")

    notifier.emit(event)  # no flush: delivery happened inside the call

    assert len(hook.posts) == 1
    [delivery] = notifier.store.list_deliveries("acme")
    assert (delivery.status, delivery.run_id) == (DeliveryStatus.SENT, "run-1")
    notifier.emit(event)  # within the cooldown: suppressed, recorded
    assert len(hook.posts) == 1
    assert notifier.store.list_deliveries("acme")[0].status == DeliveryStatus.SUPPRESSED


def test_a_delivery_error_never_reaches_the_pipeline(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    notifier = services.events
    assert isinstance(notifier, InlineNotifier)

    def broken(org_slug: str) -> None:
        raise RuntimeError("settings store down")

    monkeypatch.setattr(notifier, "settings_for", broken)
    notifier.emit(PipelineEvent(EventType.PIPELINE_FAILURE, "acme", "run-1", "a/b/c", T0, "x"))
