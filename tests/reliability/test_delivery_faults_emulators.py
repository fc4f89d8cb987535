"""Delivery faults on the function topology: Firestore and Pub/Sub emulators.

State lives in the Firestore emulator, messages travel through real Pub/Sub topics and
subscriptions on the emulator, and each delivery runs the deployed functions' own
handlers (functions/step_runner, functions/coordinator) in this process
(tests/support/pubsub_harness.py), so the ports can be wrapped with the fault injectors
of tests/support/faults.py. Redelivery is Pub/Sub's: a failed handler is nacked, a lost
delivery comes back when its ack deadline expires, and a step whose runner died holding
its claim is reclaimed only once the claim's lease (5 s timeout, no grace) expires.

Each scenario must end exactly like a clean run on the same topology.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from google.cloud import firestore

from shared.adapters.clock import SystemClock
from shared.adapters.firestore_credentials import FirestoreCredentialStore
from shared.adapters.firestore_state import FirestoreStateStore
from shared.adapters.local_secrets import LocalKeySecretBox
from shared.adapters.pubsub_bus import PubSubBus
from shared.catalog import PipelineCatalog
from shared.domain.messages import Topic
from shared.domain.quota import SubscriptionStatus
from shared.domain.states import RunStatus
from shared.emulators import Emulator
from shared.handlers.onboarding import create_org
from shared.handlers.services import Services
from shared.ports import StateStore
from shared.processors import PROCESSORS
from shared.processors.base import Processor, StepContext
from shared.settings import Settings
from tests.reliability.pipeline import (
    STEP_TIMEOUT_SECONDS,
    STEPS,
    Outcome,
    Rows,
    assert_recovered,
    faults_configs,
    outcome,
    seed_plans,
    start_run,
)
from tests.support.emulators import EMULATOR_PROJECT, firestore_client
from tests.support.faults import (
    Crash,
    CrashingProcessor,
    FaultyBus,
    FaultyStore,
    Kill,
    step_event,
    step_request,
)
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
    bus: FaultyBus
    store: FaultyStore
    consumer: PubSubConsumer
    monkeypatch: pytest.MonkeyPatch

    def injected(self) -> list[str]:
        processor = PROCESSORS["generic.procedure_executor"]
        extra = processor.injected if isinstance(processor, CrashingProcessor) else []
        lost = [f"lost delivery {m}" for m in self.consumer.lost]
        return [*self.bus.injected, *self.store.injected, *extra, *lost]


@pytest.fixture
def faults(topology: Topology, monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    """Fresh topics and subscriptions (a Pub/Sub project of its own) and wrapped ports."""
    services = topology.services
    project = f"pipelines-faults-{next(_projects)}"
    bus = PubSubBus(project)
    bus.ensure_topics(tuple(Topic))
    store = services.store
    faulty_bus, faulty_store = FaultyBus(bus), FaultyStore(store)
    services.bus, services.store = faulty_bus, cast(StateStore, faulty_store)
    consumer = PubSubConsumer(project, services)
    try:
        yield Faults(faulty_bus, faulty_store, consumer, monkeypatch)
    finally:
        consumer.close()
        services.bus, services.store = bus, store


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
    assert result[0].status is RunStatus.COMPLETED
    # Nothing failed; at most Pub/Sub redelivered a message whose ack was late (under
    # load) while its step was still being recorded, which the runner refuses (LeaseHeld).
    assert [nack for nack in consumer.nacks if "LeaseHeld" not in nack] == []
    return result


def _halve_slice(ctx: StepContext) -> None:
    """What a writer killed mid-write leaves: only the first days of the slice landed."""
    table = str(ctx.config["count_rows_in"])
    date_column = "cost_date" if table == "subscription_costs_daily" else "DATE(ChargePeriodStart)"
    ctx.warehouse.query(
        f"DELETE FROM `{ctx.warehouse.project_id}.{ctx.variables['org_dataset']}.{table}`"
        f" WHERE x_run_id = @run_id AND {date_column} > @mid",
        {"run_id": ctx.run.run_id, "mid": ctx.run.start_date.replace(day=7)},
    )


def _crash_mid_write(f: Faults, crash: type[BaseException]) -> None:
    inner = PROCESSORS["generic.procedure_executor"]
    crashing = CrashingProcessor(inner, STEPS[1], _halve_slice, crash=crash)
    f.monkeypatch.setitem(PROCESSORS, "generic.procedure_executor", cast(Processor, crashing))


def duplicated(f: Faults) -> None:
    f.bus.copies = 2


def shuffled(f: Faults) -> None:
    # Two copies of every message, each held back a random 0-1 s (Pub/Sub's not_before
    # attribute), so copies overtake one another and stale ones arrive late.
    f.bus.copies = 2
    f.bus.max_jitter = 1.0


def lost_then_redelivered(f: Faults) -> None:
    # The instance that received the second step's message vanished before acknowledging
    # it: Pub/Sub delivers it again once the ack deadline expires.
    f.consumer.lose(step_request(STEPS[1]))


def partial_write_then_error(f: Faults) -> None:
    _crash_mid_write(f, Crash)


def killed_mid_write(f: Faults) -> None:
    # The process is killed after half its write, holding the attempt's claim: the
    # redeliveries are refused (LeaseHeld) until the lease expires, then one reclaims it.
    _crash_mid_write(f, Kill)


def died_before_reporting(f: Faults) -> None:
    f.bus.crash_on_publish(step_event(STEPS[0]))


def coordinator_died_before_publishing(f: Faults) -> None:
    f.bus.crash_on_publish(step_request(STEPS[1]))


def coordinator_died_before_releasing(f: Faults) -> None:
    f.store.crash_before("release_concurrent", lambda org_slug, run_id: True)


SCENARIOS: dict[str, Callable[[Faults], None]] = {
    f.__name__: f
    for f in (
        duplicated,
        shuffled,
        lost_then_redelivered,
        partial_write_then_error,
        killed_mid_write,
        died_before_reporting,
        coordinator_died_before_publishing,
        coordinator_died_before_releasing,
    )
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_delivery_fault_ends_like_a_clean_run(
    scenario: str, topology: Topology, faults: Faults, clean: tuple[Outcome, Rows]
) -> None:
    SCENARIOS[scenario](faults)
    started = time.monotonic()

    got = _run(topology.services, faults.consumer)

    if scenario in ("duplicated", "shuffled"):
        # Every message went out at least twice, and every copy was handled (Pub/Sub may
        # add redeliveries of its own: at least once).
        assert len(faults.bus.published) >= 2 * 4
        assert len(faults.consumer.handled) >= len(faults.bus.published)
    else:
        assert len(faults.injected()) == 1, faults.injected()  # the fault did fire, once
    if scenario == "lost_then_redelivered":
        assert time.monotonic() - started > ACK_DEADLINE_SECONDS  # it came back on its own
    if scenario in ("killed_mid_write", "died_before_reporting"):
        # Refused while the dead runner's lease was live, reclaimed when it expired.
        assert len(faults.consumer.nacks) >= 2, faults.consumer.nacks
        assert any("LeaseHeld" in nack for nack in faults.consumer.nacks)
        assert time.monotonic() - started > STEP_TIMEOUT_SECONDS
    assert_recovered(got, clean)
