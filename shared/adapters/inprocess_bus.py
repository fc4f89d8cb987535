"""In-process message bus: the embedded runtime's Pub/Sub.

Same at-least-once contract as Pub/Sub: a handler that raises gets the message
again (with backoff) until ``max_deliveries``, then it goes to ``dead_letters``.
In chaos mode every message is delivered twice and workers take ready messages in
random order, which is how tests prove the handlers are idempotent.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from shared.domain.messages import Message, Topic

log = logging.getLogger(__name__)

Handler = Callable[[Message], None]


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    message: Message = field(compare=False)
    attempt: int = field(default=1, compare=False)


class InProcessBus:
    def __init__(
        self,
        handlers: Mapping[Topic, Handler] | None = None,
        *,
        workers: int = 4,
        chaos: bool = False,
        seed: int | None = None,
        max_deliveries: int = 5,
        redelivery_backoff: float = 0.05,
    ) -> None:
        self._handlers: dict[Topic, Handler] = dict(handlers or {})
        self._chaos = chaos
        self._random = random.Random(seed)  # noqa: S311 - shuffling test deliveries, not crypto
        self._max_deliveries = max_deliveries
        self._redelivery_backoff = redelivery_backoff
        self._queue: list[_Delivery] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._closed = False
        self.dead_letters: list[tuple[Message, str]] = []
        self.delivered = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"bus-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def subscribe(self, topic: Topic, handler: Handler) -> None:
        self._handlers[topic] = handler

    def publish(self, message: Message, *, delay_seconds: float = 0.0) -> None:
        copies = 2 if self._chaos else 1
        now = time.monotonic()
        with self._cond:
            for _ in range(copies):
                jitter = self._random.uniform(0, 0.005) if self._chaos else 0.0
                heapq.heappush(
                    self._queue, _Delivery(now + delay_seconds + jitter, next(self._seq), message)
                )
            self._cond.notify_all()

    def publish_all(self, messages: Sequence[Message]) -> None:
        for message in messages:
            self.publish(message)

    def drain(self, timeout: float = 60.0) -> bool:
        """Wait until nothing is queued or running; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
        return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)

    # -- workers ---------------------------------------------------------------
    def _take(self) -> _Delivery | None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                if self._queue and self._queue[0].due <= now:
                    index = self._pick_ready(now) if self._chaos else 0
                    delivery = self._queue[index]
                    self._queue[index] = self._queue[-1]
                    self._queue.pop()
                    heapq.heapify(self._queue)
                    self._in_flight += 1
                    return delivery
                wait = (self._queue[0].due - now) if self._queue else None
                self._cond.wait(wait)
            return None

    def _pick_ready(self, now: float) -> int:
        # Any due message may go next: reorders deliveries the way Pub/Sub may.
        ready = [i for i, d in enumerate(self._queue[:64]) if d.due <= now]
        return self._random.choice(ready)

    def _work(self) -> None:
        while (delivery := self._take()) is not None:
            try:
                self._deliver(delivery)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _deliver(self, delivery: _Delivery) -> None:
        message = delivery.message
        handler = self._handlers.get(message.topic)
        if handler is None:
            self.dead_letters.append((message, f"no subscriber for {message.topic.value}"))
            return
        try:
            handler(message)
            with self._cond:  # workers finish together: += is not atomic
                self.delivered += 1
        except Exception as exc:  # a failing handler means "redeliver", as with Pub/Sub
            if delivery.attempt >= self._max_deliveries:
                log.error(
                    "dead-lettered %s after %d deliveries: %s",
                    message.topic.value,
                    delivery.attempt,
                    exc,
                )
                self.dead_letters.append((message, str(exc)))
                return
            log.warning(
                "redelivering %s (delivery %d): %s", message.topic.value, delivery.attempt, exc
            )
            with self._cond:
                heapq.heappush(
                    self._queue,
                    _Delivery(
                        time.monotonic() + self._redelivery_backoff * delivery.attempt,
                        next(self._seq),
                        message,
                        delivery.attempt + 1,
                    ),
                )
                self._cond.notify_all()
