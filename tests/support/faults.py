"""Fault injection around the ports: a message bus, a state store and a processor that
misbehave once, at a chosen point, the way a crashed or flaky process would.

Each wrapper forwards everything else unchanged and records what it injected in
``injected``, so a test can assert that its fault really happened.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from typing import Any

from shared.domain.messages import Message, StepEvent, StepRequest
from shared.ports import MessageBus
from shared.processors.base import Processor, ProcessorConfig, StepContext, StepResult

MessageMatch = Callable[[Message], bool]


class Crash(Exception):
    """A process dying at an injected point, seen by the code around it as an exception."""


class Kill(BaseException):
    """A process killed outright: no ``except Exception`` in the engine runs for it.

    Only for harnesses that catch it where the process boundary would be (the Pub/Sub
    consumer in tests/support/pubsub_harness.py); the in-process bus does not.
    """


def step_request(step_id: str, attempt: int | None = None) -> MessageMatch:
    def match(message: Message) -> bool:
        return (
            isinstance(message, StepRequest)
            and message.step_id == step_id
            and attempt in (None, message.attempt)
        )

    return match


def step_event(step_id: str, *, succeeded: bool = True) -> MessageMatch:
    def match(message: Message) -> bool:
        return (
            isinstance(message, StepEvent)
            and message.step_id == step_id
            and message.succeeded is succeeded
        )

    return match


class _Rule:
    def __init__(self, match: MessageMatch, times: int, seconds: float = 0.0) -> None:
        self.match, self.left, self.seconds = match, times, seconds

    def fires(self, message: Message) -> bool:
        if self.left > 0 and self.match(message):
            self.left -= 1
            return True
        return False


class FaultyBus:
    """A MessageBus that duplicates, jitters, delays or fails publishes.

    - ``copies``: every message is published that many times (at-least-once delivery);
    - ``max_jitter``: each copy is held back a random 0..max_jitter s, so copies overtake
      one another and stale ones arrive after later messages (reordering);
    - ``crash_on_publish``: the publisher dies instead of publishing a matching message;
    - ``lose``: a matching message is lost and delivered again ``seconds`` later (the
      in-process stand-in for Pub/Sub redelivering after the ack deadline).
    """

    def __init__(
        self, inner: MessageBus, *, copies: int = 1, max_jitter: float = 0.0, seed: int = 7
    ) -> None:
        self.inner = inner
        self.copies = copies
        self.max_jitter = max_jitter
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._crashes: list[_Rule] = []
        self._losses: list[_Rule] = []
        self.published: list[Message] = []  # what reached the inner bus, in order
        self.injected: list[str] = []

    def crash_on_publish(self, match: MessageMatch, *, times: int = 1) -> None:
        self._crashes.append(_Rule(match, times))

    def lose(self, match: MessageMatch, *, seconds: float, times: int = 1) -> None:
        self._losses.append(_Rule(match, times, seconds))

    def publish(self, message: Message, *, delay_seconds: float = 0.0) -> None:
        with self._lock:
            if any(rule.fires(message) for rule in self._crashes):
                self.injected.append(f"crash publishing {_describe(message)}")
                raise Crash(f"publisher died before publishing {_describe(message)}")
            lost = next((rule for rule in self._losses if rule.fires(message)), None)
            if lost is not None:
                self.injected.append(f"lost {_describe(message)} for {lost.seconds:g} s")
            extra = [lost.seconds if lost else 0.0] * self.copies
            if self.max_jitter:
                extra = [e + self._random.uniform(0, self.max_jitter) for e in extra]
        for held in extra:
            self.inner.publish(message, delay_seconds=delay_seconds + held)
            with self._lock:
                self.published.append(message)

    def publish_all(self, messages: Sequence[Message]) -> None:
        for message in messages:  # one at a time: each meets the injected faults
            self.publish(message)


class FaultyStore:
    """A StateStore proxy that crashes once around a chosen method call.

    ``crash_after(name, when)``: the call is made (its write lands), then the caller
    dies; ``crash_before``: the caller dies before the call. ``when`` gets the call's
    arguments and picks which call (e.g. a run moving to COMPLETED).
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._rules: dict[str, list[tuple[bool, Callable[..., bool], list[int]]]] = {}
        self.injected: list[str] = []

    def crash_after(self, name: str, when: Callable[..., bool], *, times: int = 1) -> None:
        self._rules.setdefault(name, []).append((True, when, [times]))

    def crash_before(self, name: str, when: Callable[..., bool], *, times: int = 1) -> None:
        self._rules.setdefault(name, []).append((False, when, [times]))

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        rules = self._rules.get(name)
        if not rules:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            fired = self._fire(rules, args, kwargs)
            if fired is False:
                self.injected.append(f"crash before {name}")
                raise Crash(f"died before {name}")
            result = target(*args, **kwargs)
            if fired is True:
                self.injected.append(f"crash after {name}")
                raise Crash(f"died after {name}")
            return result

        return call

    def _fire(
        self,
        rules: list[tuple[bool, Callable[..., bool], list[int]]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> bool | None:
        """True: crash after the call; False: before; None: no fault for this call."""
        with self._lock:
            for after, when, left in rules:
                if left[0] > 0 and when(*args, **kwargs):
                    left[0] -= 1
                    return after
        return None


class CrashingProcessor:
    """Wraps a processor: the first run of ``step_id`` does its real work, then
    ``damage(ctx)`` (e.g. leaves half a slice behind, as a writer killed mid-write
    would), then dies with ``crash`` (Crash: an error the runner sees; Kill: the
    process is gone). Later runs are the real processor's."""

    def __init__(
        self,
        inner: Processor,
        step_id: str,
        damage: Callable[[StepContext], None],
        *,
        crash: type[BaseException] = Crash,
    ) -> None:
        self.inner, self.step_id, self.damage, self.crash = inner, step_id, damage, crash
        self.ps_type = inner.ps_type
        self.Config: type[ProcessorConfig] = inner.Config
        self._left = 1
        self._lock = threading.Lock()
        self.injected: list[str] = []

    def run(self, ctx: StepContext) -> StepResult:
        result = self.inner.run(ctx)
        with self._lock:
            fire = ctx.step_id == self.step_id and self._left > 0
            self._left -= fire
        if fire:
            self.damage(ctx)
            self.injected.append(f"{self.crash.__name__} in {ctx.step_id} after a partial write")
            raise self.crash(f"{ctx.step_id} killed mid-write")
        return result


def _describe(message: Message) -> str:
    kind = type(message).__name__
    step = getattr(message, "step_id", "")
    attempt = getattr(message, "attempt", "")
    return f"{kind}({step} #{attempt})" if step else kind
