"""Delivery faults on the function topology: Firestore and Pub/Sub emulators.

State lives in the Firestore emulator, messages travel through real Pub/Sub topics and
subscriptions on the emulator, and each delivery runs the deployed functions' own
handlers (functions/step_runner, functions/coordinator) in this process
(tests/support/pubsub_harness.py), so the ports can be wrapped with the fault injectors
of tests/support/faults.py. Redelivery is Pub/Sub's: a failed handler is nacked, a lost
delivery comes back when its ack deadline expires, and a step whose runner died holding
its claim is reclaimed only once the claim's lease (5 s timeout, no grace) expires.

Each scenario of tests/support/delivery_faults.py must end exactly like a clean run on
the same topology.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.cloud import firestore

from shared.adapters.clock import SystemClock
from shared.adapters.firestore.credentials import FirestoreCredentialStore
from shared.adapters.firestore.state import FirestoreStateStore
from shared.adapters.local_secrets import LocalKeySecretBox
from shared.adapters.pubsub_bus import PubSubBus
from shared.config.catalog import PipelineCatalog
from shared.config.settings import Settings
from shared.devtools.emulators import Emulator
from shared.domain.messages import Topic
from shared.domain.quota import SubscriptionStatus
from shared.handlers.onboarding import create_org
from shared.handlers.services import Services
from shared.processors import PROCESSORS
from tests.reliability.pipeline import (
    STEP_TIMEOUT_SECONDS,
    Outcome,
    Rows,
    faults_configs,
    outcome,
    seed_plans,
    start_run,
)
from tests.support.delivery_faults import (
    COPIES,
    SCENARIOS,
    assert_clean,
    faulty_ports,
    port_faults,
    run_scenario,
)
from tests.support.emulators import EMULATOR_PROJECT, firestore_client
from tests.support.faults import FaultyBus, FaultyStore, MessageMatch
from tests.support.pubsub_harness import ACK_DEADLINE_SECONDS, PubSubConsumer

pytestmark = [pytest.mark.slow, pytest.mark.warehouse]

SLUG = "rel_emulators"  # one org: every run rewrites the same slices, tagged with its run id
RUN_SECONDS = 60
_projects = itertools.count()


@dataclass
class Topology:
    services: Services  # the ports as the functions see them (wrapped per test)
    home: Path


@pytest.fixture(scope="module")
def topology(
    tmp_path_factory: pytest.TempPathFactory,
    firestore_emulator: Emulator,
    pubsub_emulator: Emulator,
    session_warehouse: Any,
) -> Topology:
    home = tmp_path_factory.mktemp("reliability-emulators")
    db: firestore.Client = firestore_client()
    clock = SystemClock()
    services = Services(
        store=FirestoreStateStore(db, clock=clock),
        bus=PubSubBus(EMULATOR_PROJECT),  # replaced per test: each test has its own project
        warehouse=session_warehouse,
        secrets=LocalKeySecretBox(home / "secret.key"),
        catalog=PipelineCatalog(faults_configs(home), ps_types=PROCESSORS.keys()),
        clock=clock,
        # No lease grace: a dead runner's claim expires with its 5 s step timeout.
        settings=Settings(
            home=home,
            env="test",
            project_id=session_warehouse.project_id,
            runtime="emulators",
            lease_grace_seconds=0,
        ),
        credentials=FirestoreCredentialStore(db),
    )
    if services.store.get_org(SLUG) is None:
        create_org(services, SLUG, name=SLUG, plan="scale", status=SubscriptionStatus.ACTIVE)
    seed_plans(services, SLUG)
    return Topology(services, home)


@dataclass
class Faults:
    """The topology's ports wrapped for one test, with its own Pub/Sub project and
    consumer (tests.support.delivery_faults.Faults)."""

    services: Services
    bus: FaultyBus
    store: FaultyStore
    consumer: PubSubConsumer
    monkeypatch: pytest.MonkeyPatch
    shuffle_jitter: float = 1.0  # copies held back through Pub/Sub's not_before attribute

    def lose(self, match: MessageMatch) -> None:
        # The instance that received it vanished before acknowledging it: Pub/Sub
        # delivers it again once the ack deadline expires.
        self.consumer.lose(match)

    def injected(self) -> list[str]:
        lost = [f"lost delivery {m}" for m in self.consumer.lost]
        return [*port_faults(self.bus, self.store), *lost]

    def run(self) -> tuple[Outcome, Rows]:
        return _run(self.services, self.consumer)


@pytest.fixture
def faults(topology: Topology, monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    """Fresh topics and subscriptions (a Pub/Sub project of its own) and wrapped ports."""
    services = topology.services
    project = f"pipelines-faults-{next(_projects)}"
    bus = PubSubBus(project)
    bus.ensure_topics(tuple(Topic))
    with faulty_ports(services, bus) as (faulty_bus, faulty_store):
        consumer = PubSubConsumer(project, services)
        try:
            yield Faults(services, faulty_bus, faulty_store, consumer, monkeypatch)
        finally:
            consumer.close()


def _run(services: Services, consumer: PubSubConsumer) -> tuple[Outcome, Rows]:
    org = services.store.get_org(SLUG)
    assert org is not None
    run = start_run(services, org)
    deadline = time.monotonic() + RUN_SECONDS
    while True:
        current = services.store.get_run(SLUG, run.run_id, with_steps=False)
        assert current is not None
        if current.status.terminal:
            break
        assert time.monotonic() < deadline, f"run still {current.status} after {RUN_SECONDS} s"
        time.sleep(0.1)
    consumer.settle()  # late duplicates and redeliveries have been handled too
    return outcome(services, SLUG, run.run_id)


@pytest.fixture(scope="module")
def clean(topology: Topology, pubsub_emulator: Emulator) -> tuple[Outcome, Rows]:
    project = "pipelines-faults-clean"
    bus = PubSubBus(project)
    bus.ensure_topics(tuple(Topic))
    services = topology.services
    services.bus = bus
    consumer = PubSubConsumer(project, services)
    try:
        result = _run(services, consumer)
    finally:
        consumer.close()
    assert_clean(result)
    # Nothing failed; at most Pub/Sub redelivered a message whose ack was late (under
    # load) while its step was still being recorded, which the runner refuses (LeaseHeld).
    assert [nack for nack in consumer.nacks if "LeaseHeld" not in nack] == []
    return result


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_delivery_fault_ends_like_a_clean_run(
    scenario: str, faults: Faults, clean: tuple[Outcome, Rows]
) -> None:
    seconds = run_scenario(scenario, faults, clean)

    if scenario in COPIES:
        # Every message went out at least twice, and every copy was handled (Pub/Sub may
        # add redeliveries of its own: at least once).
        assert len(faults.bus.published) >= 2 * 4
        assert len(faults.consumer.handled) >= len(faults.bus.published)
    if scenario == "lost_then_redelivered":
        assert seconds > ACK_DEADLINE_SECONDS  # it came back on its own
    if scenario in ("killed_mid_write", "died_before_reporting"):
        # Refused while the dead runner's lease was live, reclaimed when it expired.
        assert len(faults.consumer.nacks) >= 2, faults.consumer.nacks
        assert any("LeaseHeld" in nack for nack in faults.consumer.nacks)
        assert seconds > STEP_TIMEOUT_SECONDS
