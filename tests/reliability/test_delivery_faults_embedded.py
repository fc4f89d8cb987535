"""Delivery faults on the embedded runtime (SQLite + in-process bus + embedded BigQuery).

Each scenario injects one fault into a run of the fault pipeline (tests/reliability/
pipeline.py) through a wrapper around a port (tests/support/faults.py), and must end
exactly like a clean run: completed, the same warehouse rows, no duplicate, no slot held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from shared.domain.messages import Message, Topic
from shared.domain.states import RunStatus
from shared.ports import Handler, StateStore
from shared.processors import PROCESSORS
from shared.processors.base import Processor, StepContext
from shared.runtime import EmbeddedRuntime
from tests.reliability.pipeline import (
    STEPS,
    Outcome,
    Rows,
    assert_recovered,
    faults_configs,
    outcome,
    seed_plans,
    start_run,
)
from tests.support.faults import (
    CrashingProcessor,
    FaultyBus,
    FaultyStore,
    step_event,
    step_request,
)
from tests.support.runtime import make_runtime, new_org

pytestmark = pytest.mark.warehouse

DRAIN_SECONDS = 60


@dataclass
class Faults:
    """The wrapped ports of one runtime, for a scenario to arm."""

    bus: FaultyBus
    store: FaultyStore
    monkeypatch: pytest.MonkeyPatch
    delivered: list[Message] = field(default_factory=list)  # what the handlers got, in order

    def injected(self) -> list[str]:
        processor = PROCESSORS["generic.procedure_executor"]
        extra = processor.injected if isinstance(processor, CrashingProcessor) else []
        return [*self.bus.injected, *self.store.injected, *extra]


SLUG = "rel_embedded"  # one org: every run rewrites the same slices, tagged with its run id


@pytest.fixture(scope="module")
def embedded(
    tmp_path_factory: pytest.TempPathFactory, session_warehouse: Any
) -> Iterator[EmbeddedRuntime]:
    home = tmp_path_factory.mktemp("reliability")
    with make_runtime(home, faults_configs(home), warehouse=session_warehouse) as rt:
        new_org(rt, SLUG)
        seed_plans(rt.services, SLUG)
        yield rt


def _run(rt: EmbeddedRuntime) -> tuple[Outcome, Rows]:
    org = rt.services.store.get_org(SLUG)
    assert org is not None
    run = start_run(rt.services, org)
    assert rt.bus.drain(DRAIN_SECONDS), "deliveries still queued"
    return outcome(rt.services, SLUG, run.run_id)


@pytest.fixture(scope="module")
def clean(embedded: EmbeddedRuntime) -> tuple[Outcome, Rows]:
    result = _run(embedded)
    assert result[0].status is RunStatus.COMPLETED
    assert result[0].duplicates == dict.fromkeys(result[0].duplicates, 0)
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


def duplicated(f: Faults) -> None:
    f.bus.copies = 2


def shuffled(f: Faults) -> None:
    # Two copies of every message, each held back a random 0-2 s (longer than a step),
    # so copies overtake one another and stale ones arrive after later messages.
    f.bus.copies = 2
    f.bus.max_jitter = 2.0


def lost_then_redelivered(f: Faults) -> None:
    f.bus.lose(step_request(STEPS[1]), seconds=1.0)


def partial_write_then_error(f: Faults) -> None:
    inner = PROCESSORS["generic.procedure_executor"]
    crashing = CrashingProcessor(inner, STEPS[1], _halve_slice)
    f.monkeypatch.setitem(PROCESSORS, "generic.procedure_executor", cast(Processor, crashing))


def died_before_reporting(f: Faults) -> None:
    # The runner wrote its rows, then died before its outcome left: nothing records it.
    f.bus.crash_on_publish(step_event(STEPS[0]))


def coordinator_died_before_publishing(f: Faults) -> None:
    # The first step's success is recorded, then the coordinator dies before publishing
    # the second step: the redelivered event must publish it.
    f.bus.crash_on_publish(step_request(STEPS[1]))


def coordinator_died_before_releasing(f: Faults) -> None:
    # The run is marked completed, then the coordinator dies before freeing its slot.
    f.store.crash_before("release_concurrent", lambda org_slug, run_id: True)


SCENARIOS: dict[str, Callable[[Faults], None]] = {
    f.__name__: f
    for f in (
        duplicated,
        shuffled,
        lost_then_redelivered,
        partial_write_then_error,
        died_before_reporting,
        coordinator_died_before_publishing,
        coordinator_died_before_releasing,
    )
}


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
    bus, store = services.bus, services.store
    faults = Faults(FaultyBus(bus), FaultyStore(store), monkeypatch)
    services.bus, services.store = faults.bus, cast(StateStore, faults.store)
    handlers = {
        Topic.STEP_REQUESTS: embedded._on_step_request,
        Topic.STEP_EVENTS: embedded._on_step_event,
    }
    for topic, handler in handlers.items():
        embedded.bus.subscribe(topic, _recording(handler, faults.delivered))
    try:
        yield faults
    finally:
        services.bus, services.store = bus, store
        for topic, handler in handlers.items():
            embedded.bus.subscribe(topic, handler)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_delivery_fault_ends_like_a_clean_run(
    scenario: str, embedded: EmbeddedRuntime, faults: Faults, clean: tuple[Outcome, Rows]
) -> None:
    SCENARIOS[scenario](faults)

    got = _run(embedded)

    delivered = faults.delivered
    if scenario in ("duplicated", "shuffled"):  # every message delivered (at least) twice
        assert {delivered.count(m) % 2 for m in delivered} == {0}
        assert len({repr(m) for m in delivered}) >= 4  # the run's 4 distinct messages
    if scenario == "shuffled":
        assert _inversions(faults.bus.published, delivered) > 0
    if scenario not in ("duplicated", "shuffled"):
        assert len(faults.injected()) == 1, faults.injected()  # the fault did fire, once
    assert_recovered(got, clean)
