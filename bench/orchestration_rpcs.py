"""Firestore RPCs and publishes per step of the emulator path, counted in-process.

The real step-runner and coordinator handlers run on the Firestore emulator, in this
process, one message at a time (a recording bus hands each published message to the
next handler), so each step's round trips can be counted by method, with no Pub/Sub
push latency in the figures. A profile, not a target: bench/orchestration.py times
the real topology.

    python -m bench.orchestration_rpcs [--steps 200]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench.noop_processor  # noqa: F401 - registers the no-op processor
from bench.orchestration import DAY, SHAPES, write_configs
from shared.devtools.emulators import start_firestore
from shared.domain.messages import Message, StepEvent, StepRequest
from shared.domain.models import Org
from shared.domain.quota import QuotaLimits, SubscriptionStatus


class RecordingBus:
    """The MessageBus port as a FIFO this script drains; counts what is published."""

    def __init__(self) -> None:
        self.queue: collections.deque[Message] = collections.deque()
        self.published: collections.Counter[str] = collections.Counter()

    def publish(self, message: Message, *, delay_seconds: float = 0.0) -> None:
        self.published[type(message).__name__] += 1
        self.queue.append(message)

    def publish_all(self, messages: Sequence[Message]) -> None:
        for message in messages:
            self.publish(message)


class RpcCounter:
    """Counts (and times) every Firestore RPC the client makes, by method name."""

    def __init__(self, client: Any) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.docs: collections.Counter[str] = collections.Counter()
        self.ms: collections.defaultdict[str, float] = collections.defaultdict(float)
        wrapped = client._firestore_api._transport._wrapped_methods
        for key, method in list(wrapped.items()):
            wrapped[key] = self._counted(method, str(getattr(key, "_method", key)))

    def _counted(self, method: Any, path: str) -> Any:
        name = path.rsplit("/", 1)[-1].strip("'")

        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = method(*args, **kwargs)
            if name in ("RunQuery", "BatchGetDocuments"):  # streams: count what came back
                items = list(result)
                self.docs[name] += len(items)
                result = iter(items)
            self.calls[name] += 1
            self.ms[name] += (time.perf_counter() - started) * 1000
            return result

        return call

    def reset(self) -> None:
        self.calls.clear()
        self.docs.clear()
        self.ms.clear()


def profile(steps: int) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-rpcs-") as tmp:
        root = Path(tmp)
        firestore = start_firestore(root / "logs")
        try:
            configs = write_configs(root, {steps})
            os.environ.update(
                {
                    "PIPELINES_RUNTIME": "emulators",
                    "PIPELINES_PROJECT_ID": "bench-rpcs",
                    "PIPELINES_HOME": str(root),
                    "PIPELINES_CONFIGS_DIR": str(configs),
                    "FIRESTORE_EMULATOR_HOST": firestore.host_port,
                    # Required by the composition root; no-op steps never contact them.
                    "PUBSUB_EMULATOR_HOST": "127.0.0.1:9",
                    "BIGQUERY_EMULATOR_URL": "http://127.0.0.1:9",
                }
            )
            yield from _profile(steps)
        finally:
            firestore.stop()


def _profile(steps: int) -> Iterator[str]:
    from shared.bootstrap.cloud import build_cloud_services
    from shared.config.settings import Settings
    from shared.handlers.coordinate import coordinate
    from shared.handlers.dispatch import RunRequest, dispatch_run
    from shared.handlers.run_step import run_step

    bus = RecordingBus()
    services = replace(build_cloud_services(Settings.from_env()), bus=bus)
    counter = RpcCounter(services.store._db)  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    limits = QuotaLimits(daily=100, monthly=1000, concurrent=10)
    org = Org("bench", "bench", SubscriptionStatus.ACTIVE, "scale", limits, "-", now)
    services.store.create_org(org)
    for shape in SHAPES:
        request = RunRequest("bench", "subscription", "costs", f"bench_{shape}_{steps}", DAY, DAY)
        dispatch_run(services, org, request)
        counter.reset()
        bus.published.clear()
        handler_ms: collections.defaultdict[str, float] = collections.defaultdict(float)
        while bus.queue:
            message = bus.queue.popleft()
            started = time.perf_counter()
            if isinstance(message, StepRequest):
                run_step(services, message)
            else:
                assert isinstance(message, StepEvent)
                coordinate(services, message)
            handler_ms[type(message).__name__] += (time.perf_counter() - started) * 1000

        def per_step(counts: Mapping[str, float]) -> str:
            return ", ".join(f"{k} {v / steps:.2f}" for k, v in sorted(counts.items()))

        yield f"{shape} of {steps} steps, per step:"
        total = sum(counter.calls.values()) / steps
        yield f"  Firestore RPCs {total:.2f}: {per_step(counter.calls)}"
        yield f"  documents returned: {per_step(counter.docs)}"
        yield f"  publishes: {per_step(bus.published)}"
        yield "  ms per RPC: " + ", ".join(
            f"{k} {counter.ms[k] / n:.1f}" for k, n in sorted(counter.calls.items())
        )
        yield "  handler ms per step: " + ", ".join(
            f"{k} {v / steps:.1f}" for k, v in sorted(handler_ms.items())
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.orchestration_rpcs")
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args(argv)
    for line in profile(args.steps):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
