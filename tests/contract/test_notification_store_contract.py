"""The NotificationStore contract: every adapter must pass this suite."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.adapters.firestore.ops import FirestoreNotificationStore
from shared.adapters.sqlite.ops import SqliteNotificationStore
from shared.domain.notifications import Delivery, DeliveryStatus, EventType
from shared.ports import NotificationStore
from tests.support.contract import adapters, together
from tests.support.emulators import firestore_client

FACTORIES: dict[str, Callable[[Path], NotificationStore]] = {
    "sqlite": lambda tmp: SqliteNotificationStore(tmp / "state.db"),
    "firestore": lambda tmp: FirestoreNotificationStore(firestore_client()),
}
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

store = adapters(FACTORIES, "tmp_path")


def test_org_settings_round_trip_and_replace(store: NotificationStore) -> None:
    assert store.get_org_settings("acme") is None
    store.set_org_settings("acme", {"email": {"to": ["a@x"]}}, T0)
    store.set_org_settings("acme", {"cooldown_seconds": 5}, T0)
    assert store.get_org_settings("acme") == {"cooldown_seconds": 5}
    assert store.get_org_settings("globex") is None


def test_org_settings_keep_opaque_strings_verbatim(store: NotificationStore) -> None:
    """The notifier stores an org's webhook sealed, as an opaque string (base64url and a
    non-ASCII redacted host): a store must hand it back byte for byte."""
    sealed = {
        "events": {"STEP_FAILURE": ["slack"]},
        "slack": {"webhook_url": "sealed:v1:AQz-_9w:https://hooks.slack.com/…"},
    }
    store.set_org_settings("acme", sealed, T0)
    assert store.get_org_settings("acme") == sealed


def test_cooldown_admits_once_per_window(store: NotificationStore) -> None:
    assert store.claim_cooldown("acme", "email", "k", T0, 60)
    assert not store.claim_cooldown("acme", "email", "k", T0 + timedelta(seconds=59), 60)
    assert store.claim_cooldown("acme", "slack", "k", T0, 60)  # per channel
    assert store.claim_cooldown("globex", "email", "k", T0, 60)  # per org
    assert store.claim_cooldown("acme", "email", "k", T0 + timedelta(seconds=60), 60)


def test_concurrent_claims_admit_one(store: NotificationStore) -> None:
    wins = together(6, lambda _: store.claim_cooldown("acme", "email", "k", T0, 60))
    assert sorted(wins) == [False] * 5 + [True]


def test_release_undoes_only_its_own_claim(store: NotificationStore) -> None:
    assert store.claim_cooldown("acme", "email", "k", T0, 60)
    store.release_cooldown("acme", "email", "k", T0 + timedelta(seconds=1))  # not its claim
    assert not store.claim_cooldown("acme", "email", "k", T0 + timedelta(seconds=2), 60)
    store.release_cooldown("acme", "email", "k", T0)
    assert store.claim_cooldown("acme", "email", "k", T0 + timedelta(seconds=3), 60)


def test_deliveries_newest_first_per_org(store: NotificationStore) -> None:
    def delivery(org: str, status: DeliveryStatus, minute: int) -> Delivery:
        return Delivery(
            org,
            EventType.STEP_FAILURE,
            "slack",
            "https://hooks/…",
            "run-1",
            "k",
            status,
            1,
            None,
            T0 + timedelta(minutes=minute),
        )

    store.record_delivery(delivery("acme", DeliveryStatus.SENT, 0))
    store.record_delivery(delivery("globex", DeliveryStatus.SENT, 1))
    store.record_delivery(delivery("acme", DeliveryStatus.SUPPRESSED, 2))
    assert store.list_deliveries("acme") == [
        delivery("acme", DeliveryStatus.SUPPRESSED, 2),
        delivery("acme", DeliveryStatus.SENT, 0),
    ]
    assert len(store.list_deliveries("acme", limit=1)) == 1
