from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from shared.adapters.inprocess_bus import InProcessBus
from shared.domain.messages import Message, StepRequest, Topic


def _requests(n: int) -> list[StepRequest]:
    return [StepRequest("run", "acme", f"s{i}", 1) for i in range(n)]


def _delivered(count: int, **bus_options: Any) -> list[str]:
    """The step ids a recording handler got, in order, for ``count`` published requests."""
    seen: list[str] = []
    lock = threading.Lock()

    def handler(message: Message) -> None:
        with lock:
            seen.append(message.step_id)

    bus = InProcessBus({Topic.STEP_REQUESTS: handler}, **bus_options)
    for message in _requests(count):
        bus.publish(message)
    assert bus.drain(5)
    bus.close()
    return seen


def test_delivers_every_message_once_in_normal_mode() -> None:
    seen = _delivered(50, workers=3)
    assert sorted(seen) == sorted(f"s{i}" for i in range(50))


def test_chaos_mode_delivers_twice_and_reorders() -> None:
    seen = _delivered(40, workers=1, chaos=True, seed=7)
    assert Counter(seen) == {f"s{i}": 2 for i in range(40)}
    first_seen = list(dict.fromkeys(seen))
    assert first_seen != [f"s{i}" for i in range(40)], "chaos mode must reorder"


def test_failing_handler_is_redelivered_then_dead_lettered() -> None:
    calls: Counter[str] = Counter()

    def handler(message: Message) -> None:
        calls[message.step_id] += 1
        if message.step_id == "poison" or calls[message.step_id] < 3:
            raise RuntimeError("boom")

    bus = InProcessBus(
        {Topic.STEP_REQUESTS: handler}, workers=2, max_deliveries=4, redelivery_backoff=0.001
    )
    bus.publish(StepRequest("run", "acme", "flaky", 1))
    bus.publish(StepRequest("run", "acme", "poison", 1))
    assert bus.drain(5)
    bus.close()
    assert calls == {"flaky": 3, "poison": 4}
    assert [(m.step_id, err) for m, err in bus.dead_letters] == [("poison", "boom")]


def test_delayed_message_waits() -> None:
    import time

    delivered_at: list[float] = []
    bus = InProcessBus({Topic.STEP_REQUESTS: lambda m: delivered_at.append(time.monotonic())})
    start = time.monotonic()
    bus.publish(StepRequest("run", "acme", "later", 2), delay_seconds=0.2)
    assert bus.drain(5)
    bus.close()
    assert delivered_at[0] - start >= 0.2
