"""Delivery faults on the embedded runtime (SQLite + in-process bus + embedded BigQuery).

Each scenario of tests/support/delivery_faults.py injects one fault into a run of the
fault pipeline (tests/reliability/pipeline.py) through a wrapper around a port
(tests/support/faults.py), and must end exactly like a clean run: completed, the same
warehouse rows, no duplicate, no slot held.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.messages import Message, Topic
from shared.ports import Handler
from tests.reliability import pipeline
from tests.reliability.pipeline import Outcome, Rows
from tests.support.delivery_faults import (
    COPIES,
    KILLS,
    SCENARIOS,
    assert_clean,
    faulty_ports,
    port_faults,
    run_scenario,
)
from tests.support.faults import FaultyBus, FaultyStore, MessageMatch
from tests.support.runtime import make_runtime, new_org

pytestmark = pytest.mark.warehouse

DRAIN_SECONDS = 60
LOST_SECONDS = 1.0  # the in-process stand-in for Pub/Sub's ack deadline


@dataclass
class Faults:
    """The wrapped ports of the module's runtime, for a scenario to arm
    (tests.support.delivery_faults.Faults)."""

    runtime: EmbeddedRuntime
    bus: FaultyBus
    store: FaultyStore
    monkeypatch: pytest.MonkeyPatch
    delivered: list[Message] = field(default_factory=list)  # what the handlers got, in order
    shuffle_jitter: float = 2.0  # longer than a step: stale copies arrive after later ones

    def lose(self, match: MessageMatch) -> None:
        self.bus.lose(match, seconds=LOST_SECONDS)

    def injected(self) -> list[str]:
        return port_faults(self.bus, self.store)

    def run(self) -> tuple[Outcome, Rows]:
        return _run(self.runtime)


SLUG = "rel_embedded"  # one org: every run rewrites the same slices, tagged with its run id


@pytest.fixture(scope="module")
def embedded(
    tmp_path_factory: pytest.TempPathFactory, session_warehouse: Any
) -> Iterator[EmbeddedRuntime]:
    home = tmp_path_factory.mktemp("reliability")
    with make_runtime(home, pipeline.faults_configs(home), warehouse=session_warehouse) as rt:
        new_org(rt, SLUG)
        pipeline.seed_plans(rt.services, SLUG)
        yield rt


def _run(rt: EmbeddedRuntime) -> tuple[Outcome, Rows]:
    org = rt.services.store.get_org(SLUG)
    assert org is not None
    run = pipeline.start_run(rt.services, org)
    assert rt.bus.drain(DRAIN_SECONDS), "deliveries still queued"
    return pipeline.outcome(rt.services, SLUG, run.run_id)


@pytest.fixture(scope="module")
def clean(embedded: EmbeddedRuntime) -> tuple[Outcome, Rows]:
    return assert_clean(_run(embedded))


def _recording(handler: Handler, delivered: list[Message]) -> Handler:
    def record(message: Message) -> None:
        delivered.append(message)
        handler(message)

    return record


def _inversions(published: list[Message], delivered: list[Message]) -> int:
    """How many deliveries came before a message published earlier than them."""
    order = [published.index(message) for message in delivered]
    return sum(1 for i, later in enumerate(order) if any(o > later for o in order[:i]))


@pytest.fixture
def faults(embedded: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    """The module's runtime with its bus and store wrapped for one test, then restored."""
    services = embedded.services
    with faulty_ports(services, services.bus) as (bus, store):
        faults = Faults(embedded, bus, store, monkeypatch)
        handlers = {
            Topic.STEP_REQUESTS: embedded._on_step_request,
            Topic.STEP_EVENTS: embedded._on_step_event,
        }
        for topic, handler in handlers.items():
            embedded.bus.subscribe(topic, _recording(handler, faults.delivered))
        try:
            yield faults
        finally:
            for topic, handler in handlers.items():
                embedded.bus.subscribe(topic, handler)


@pytest.mark.parametrize("scenario", [name for name in SCENARIOS if name not in KILLS])
def test_a_delivery_fault_ends_like_a_clean_run(
    scenario: str, faults: Faults, clean: tuple[Outcome, Rows]
) -> None:
    run_scenario(scenario, faults, clean)

    delivered = faults.delivered
    if scenario in COPIES:  # every message delivered (at least) twice
        assert {delivered.count(m) % 2 for m in delivered} == {0}
        assert len({repr(m) for m in delivered}) >= 4  # the run's 4 distinct messages
    if scenario == "shuffled":
        assert _inversions(faults.bus.published, delivered) > 0
