"""Firestore-only: a reservation whose caller died half-way is taken over, not leaked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.cloud import firestore

from shared.adapters.firestore import state as firestore_state
from shared.adapters.firestore.state import FirestoreStateStore
from shared.devtools.emulators import Emulator
from shared.domain.quota import QuotaLimits, QuotaUsage
from tests.contract.test_state_store_contract import T0
from tests.support.emulators import EMULATOR_PROJECT


def test_an_abandoned_reservation_is_finished_with_the_slots_it_took(
    clean_firestore: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = firestore.Client(project=EMULATOR_PROJECT)
    quota = client.collection("quota").document("acme")
    # A dispatcher died after taking the run's concurrent slot, before finishing.
    quota.collection("reservations").document("r1").create({"state": "reserving"})
    quota.collection("concurrent").document("0").create({"run_id": "r1", "at": T0})
    monkeypatch.setattr(firestore_state, "TAKEOVER_AFTER", timedelta(0))
    store = FirestoreStateStore(client)
    limits = QuotaLimits(daily=10, monthly=10, concurrent=1)

    # The redelivered request: with a limit of 1 it is admitted only by reusing slot 0.
    assert store.reserve_quota("acme", "r1", limits, T0).admitted
    assert store.quota_usage("acme", T0) == QuotaUsage(daily=1, monthly=1, concurrent=1)
    assert store.release_concurrent("acme", "r1")
    assert store.reserve_quota("acme", "r2", limits, T0).admitted
