"""Quota reservations per second on the embedded state store (TARGETS: >= 200/s, and
exactly the limit admitted under 100 concurrent requesters).

    PYTHONPATH=. python -m bench.quota [--reservations 2000] [--rounds 10] [--limit 25]

Sequential: one thread reserves ``reservations`` runs under limits never reached.
Concurrent: in each round, 100 threads released together by a barrier each reserve one
run of a fresh org whose concurrent limit is ``limit``; the round must admit exactly
``limit``. Both on SqliteStateStore (a file, as the embedded runtime uses it).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shared.adapters.sqlite.state import SqliteStateStore
from shared.domain.quota import QuotaLimits

REQUESTERS = 100
_UNLIMITED = QuotaLimits(daily=10**9, monthly=10**9, concurrent=10**9)


@dataclass(frozen=True, slots=True)
class QuotaFigures:
    sequential_per_s: float
    concurrent_per_s: float  # reservation attempts per second, admitted or refused
    rounds: int
    limit: int
    admitted_per_round: tuple[int, ...]

    @property
    def exact(self) -> bool:
        """Every round admitted exactly the limit."""
        return all(n == self.limit for n in self.admitted_per_round)


def _sequential(store: SqliteStateStore, reservations: int) -> float:
    now = datetime.now(UTC)
    began = time.perf_counter()
    for i in range(reservations):
        if not store.reserve_quota("seq_org", f"run-{i}", _UNLIMITED, now).admitted:
            raise RuntimeError(f"reservation {i} refused under limits never reached")
    return reservations / (time.perf_counter() - began)


def _concurrent_round(
    store: SqliteStateStore, pool: ThreadPoolExecutor, org: str, limit: int
) -> tuple[int, float]:
    limits = QuotaLimits(daily=10**9, monthly=10**9, concurrent=limit)
    now = datetime.now(UTC)
    barrier = threading.Barrier(REQUESTERS)

    def request(i: int) -> bool:
        barrier.wait()
        return store.reserve_quota(org, f"run-{i}", limits, now).admitted

    began = time.perf_counter()
    admitted = sum(pool.map(request, range(REQUESTERS)))
    return admitted, time.perf_counter() - began


def measure_quota(reservations: int = 2000, rounds: int = 10, limit: int = 25) -> QuotaFigures:
    with tempfile.TemporaryDirectory(prefix="bench-quota-") as tmp:
        store = SqliteStateStore(Path(tmp) / "state.db")
        sequential = _sequential(store, reservations)
        admitted: list[int] = []
        seconds = 0.0
        with ThreadPoolExecutor(max_workers=REQUESTERS) as pool:
            for r in range(rounds):
                n, took = _concurrent_round(store, pool, f"org_{r}", limit)
                admitted.append(n)
                seconds += took
        store.close()
    return QuotaFigures(sequential, rounds * REQUESTERS / seconds, rounds, limit, tuple(admitted))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.quota")
    parser.add_argument("--reservations", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--limit", type=int, default=25)
    args = parser.parse_args(argv)
    f = measure_quota(args.reservations, args.rounds, args.limit)
    print(f"sequential: {f.sequential_per_s:,.0f} reservations/s")
    print(
        f"{REQUESTERS} concurrent requesters x {f.rounds} rounds: {f.concurrent_per_s:,.0f} "
        f"reservations/s; admitted per round {list(f.admitted_per_round)} (limit {f.limit})"
    )


if __name__ == "__main__":
    main()
