"""The delivery-fault scenarios, written once for every topology that runs them.

tests/reliability/test_delivery_faults_embedded.py (in-process bus, SQLite) and
tests/reliability/test_delivery_faults_emulators.py (Pub/Sub and Firestore emulators)
each provide a ``Faults`` fixture: their ports wrapped with the injectors of
tests/support/faults.py, plus the few things that differ between them (how a delivery
is lost, how long copies may be held back, how a run is driven to its end). Each
scenario arms one fault through it; ``run_scenario`` then runs the fault pipeline
(tests/reliability/pipeline.py) and checks it ended exactly like a clean run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, cast

import pytest

from shared.domain.states import RunStatus
from shared.handlers.services import Services
from shared.ports import MessageBus, StateStore
from shared.processors import PROCESSORS
from shared.processors.base import Processor, StepContext
from tests.reliability.pipeline import STEPS, Outcome, Rows, assert_recovered
from tests.support.faults import (
    Crash,
    CrashingProcessor,
    FaultyBus,
    FaultyStore,
    Kill,
    MessageMatch,
    step_event,
    step_request,
)

_EXECUTOR = "generic.procedure_executor"  # the ps_type of both of the pipeline's steps


class Faults(Protocol):
    """One test's topology with its ports wrapped, for a scenario to arm."""

    bus: FaultyBus
    store: FaultyStore
    monkeypatch: pytest.MonkeyPatch

    @property
    def shuffle_jitter(self) -> float:
        """The most, in seconds, each copy of a shuffled message is held back."""
        ...

    def lose(self, match: MessageMatch) -> None:
        """Lose the first matching delivery; the topology's own redelivery brings it back."""
        ...

    def injected(self) -> list[str]:
        """Every fault that fired."""
        ...

    def run(self) -> tuple[Outcome, Rows]:
        """Run the fault pipeline and wait until it and every delivery it caused are done."""
        ...


@contextmanager
def faulty_ports(services: Services, bus: MessageBus) -> Iterator[tuple[FaultyBus, FaultyStore]]:
    """``services`` publishing through ``bus`` and using its store, both wrapped with the
    fault injectors for the block; afterwards ``bus`` and the store, unwrapped."""
    store = services.store
    faulty_bus, faulty_store = FaultyBus(bus), FaultyStore(store)
    services.bus, services.store = faulty_bus, cast(StateStore, faulty_store)
    try:
        yield faulty_bus, faulty_store
    finally:
        services.bus, services.store = bus, store


def port_faults(bus: FaultyBus, store: FaultyStore) -> list[str]:
    """What the bus, the store and (when a scenario swapped it in) the crashing
    processor injected."""
    processor = PROCESSORS[_EXECUTOR]
    extra = processor.injected if isinstance(processor, CrashingProcessor) else []
    return [*bus.injected, *store.injected, *extra]


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
    crashing = CrashingProcessor(PROCESSORS[_EXECUTOR], STEPS[1], _halve_slice, crash=crash)
    f.monkeypatch.setitem(PROCESSORS, _EXECUTOR, cast(Processor, crashing))


def duplicated(f: Faults) -> None:
    f.bus.copies = 2


def shuffled(f: Faults) -> None:
    # Two copies of every message, each held back a random 0..shuffle_jitter s, so
    # copies overtake one another and stale ones arrive after later messages.
    f.bus.copies = 2
    f.bus.max_jitter = f.shuffle_jitter


def lost_then_redelivered(f: Faults) -> None:
    # The second step's message is lost once (an instance vanished before acknowledging
    # it); it must come back without anyone resending it.
    f.lose(step_request(STEPS[1]))


def partial_write_then_error(f: Faults) -> None:
    _crash_mid_write(f, Crash)


def killed_mid_write(f: Faults) -> None:
    # The process is killed after half its write, holding the attempt's claim: the
    # redeliveries are refused (LeaseHeld) until the lease expires, then one reclaims it.
    _crash_mid_write(f, Kill)


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
        killed_mid_write,
        died_before_reporting,
        coordinator_died_before_publishing,
        coordinator_died_before_releasing,
    )
}
COPIES = ("duplicated", "shuffled")  # every message faulted, not one fault that fires once
# Kill is a BaseException: only a harness that catches it where the process boundary
# would be (the Pub/Sub consumer) can run these; the in-process bus cannot.
KILLS = ("killed_mid_write",)


def assert_clean(result: tuple[Outcome, Rows]) -> tuple[Outcome, Rows]:
    """The reference run, with no fault armed, ended well: completed, no duplicate key,
    its slot released. Every scenario must then end exactly like it."""
    clean = result[0]
    assert clean.status is RunStatus.COMPLETED
    assert clean.duplicates == dict.fromkeys(clean.duplicates, 0)
    assert clean.concurrent_slots == 0
    return result


def run_scenario(name: str, faults: Faults, clean: tuple[Outcome, Rows]) -> float:
    """Arm scenario ``name``, run the pipeline, and check that its fault fired (once,
    except the copy scenarios) and that the run ended exactly like ``clean``: completed,
    the same rows in both tables, no duplicate key, no slot held.

    Returns how long the run took, for a topology's own checks on redelivery times.
    """
    SCENARIOS[name](faults)
    started = time.monotonic()
    got = faults.run()
    seconds = time.monotonic() - started
    if name not in COPIES:
        assert len(faults.injected()) == 1, faults.injected()  # the fault did fire, once
    assert_recovered(got, clean)
    return seconds
