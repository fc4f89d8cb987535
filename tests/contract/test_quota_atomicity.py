"""Quota reservations under contention: never more admitted than the limit allows."""

from __future__ import annotations

import multiprocessing
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.sqlite.state import SqliteStateStore
from shared.domain.quota import QuotaLimits, QuotaUsage
from shared.ports import StateStore
from tests.contract.test_state_store_contract import T0, clock, store
from tests.support.contract import together

__all__ = ["clock", "store"]  # fixtures: every adapter in the contract suite runs these too

THREADS = 50


def _race(store: StateStore, limits: QuotaLimits) -> list[str | None]:
    """THREADS threads, released together, each reserve a distinct run; their limit_hits."""

    def reserve(i: int) -> str | None:
        decision = store.reserve_quota("acme", f"run-{i}", limits, T0)
        return None if decision.admitted else decision.limit_hit

    return together(THREADS, reserve)


@pytest.mark.parametrize(
    ("limits", "limit_hit"),
    [
        (QuotaLimits(daily=1000, monthly=1000, concurrent=7), "concurrent"),
        (QuotaLimits(daily=7, monthly=1000, concurrent=1000), "daily"),
        (QuotaLimits(daily=1000, monthly=7, concurrent=1000), "monthly"),
    ],
)
def test_threads_never_exceed_a_limit(
    store: StateStore, limits: QuotaLimits, limit_hit: str
) -> None:
    outcomes = _race(store, limits)

    assert outcomes.count(None) == 7
    assert set(outcomes) == {None, limit_hit}
    # Nothing is released, so every bucket holds exactly the admitted runs.
    assert store.quota_usage("acme", T0) == QuotaUsage(daily=7, monthly=7, concurrent=7)


def test_concurrent_reservations_for_one_run_take_one_slot(store: StateStore) -> None:
    """Duplicate deliveries of one run request, at once: one reservation, all admitted."""
    limits = QuotaLimits(daily=100, monthly=100, concurrent=5)
    admitted = together(10, lambda _: store.reserve_quota("acme", "the-run", limits, T0).admitted)
    assert all(admitted)
    assert store.quota_usage("acme", T0) == QuotaUsage(daily=1, monthly=1, concurrent=1)
    assert store.release_concurrent("acme", "the-run")
    assert store.quota_usage("acme", T0).concurrent == 0


# -- several processes on one SQLite file (the embedded runtime may run a CLI beside
# -- a server); SQLite-specific, so not part of the adapter-generic contract.

PROCESSES = 4
PER_PROCESS = 10


def _reserve_in_process(
    db: str, worker: int, limits: QuotaLimits, now: datetime, start: Any, results: Any
) -> None:
    try:
        store = SqliteStateStore(db)
        start.wait(timeout=60)  # all processes hit the file at once
        results.put(
            sum(
                store.reserve_quota("acme", f"p{worker}-{i}", limits, now).admitted
                for i in range(PER_PROCESS)
            )
        )
    except Exception as exc:  # reported, so the test fails now rather than at a timeout
        results.put(repr(exc))


def test_processes_sharing_a_sqlite_file_never_exceed_a_limit(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    SqliteStateStore(db).close()  # create the schema once, like a runtime would
    limits = QuotaLimits(daily=1000, monthly=1000, concurrent=5)
    # spawn: a fresh interpreter per process, no SQLite handles inherited through fork.
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(PROCESSES), ctx.Queue()
    workers = [
        ctx.Process(target=_reserve_in_process, args=(str(db), w, limits, T0, start, results))
        for w in range(PROCESSES)
    ]
    for process in workers:
        process.start()
    admitted = [results.get(timeout=60) for _ in workers]
    for process in workers:
        process.join(timeout=60)

    assert all(isinstance(n, int) for n in admitted), admitted
    assert sum(admitted) == 5
    assert SqliteStateStore(db).quota_usage("acme", T0).concurrent == 5
