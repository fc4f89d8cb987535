"""Messages on the bus. Every handler is idempotent on (run_id, step_id, attempt)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from shared.domain.errors import BadRequest


@dataclass(frozen=True, slots=True)
class StepAttempt:
    """What both step messages are about: attempt ``attempt`` of one step of one run."""

    run_id: str
    org_slug: str
    step_id: str
    attempt: int


class Topic(StrEnum):
    RUN_REQUESTS = "run-requests"
    STEP_REQUESTS = "step-requests"
    STEP_EVENTS = "step-events"
    NOTIFICATIONS = "notifications"
    SCHEDULER_TICKS = "scheduler-ticks"


@dataclass(frozen=True, slots=True)
class StepRequest(StepAttempt):
    """Run attempt ``attempt`` of one step."""

    topic: ClassVar[Topic] = Topic.STEP_REQUESTS


@dataclass(frozen=True, slots=True)
class StepEvent(StepAttempt):
    """The outcome of one step attempt."""

    topic: ClassVar[Topic] = Topic.STEP_EVENTS
    succeeded: bool
    error: str | None = None
    retryable: bool = False
    rows_written: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)


Message = StepRequest | StepEvent
_BY_TOPIC: dict[Topic, type[StepRequest] | type[StepEvent]] = {
    Topic.STEP_REQUESTS: StepRequest,
    Topic.STEP_EVENTS: StepEvent,
}


def encode(message: Message) -> bytes:
    return json.dumps(asdict(message), sort_keys=True).encode()


def attributes(message: Message) -> dict[str, str]:
    """Pub/Sub attributes: enough to route and deduplicate without decoding the body."""
    return {
        "run_id": message.run_id,
        "org_slug": message.org_slug,
        "step_id": message.step_id,
        "attempt": str(message.attempt),
    }


def decode(topic: Topic, data: bytes) -> Message:
    """Parse a message body; a malformed one raises BadRequest (poison, never retried)."""
    cls = _BY_TOPIC[topic]
    try:
        payload = json.loads(data)
        if not isinstance(payload, dict):
            raise TypeError("message body is not a JSON object")
        message = cls(**payload)
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"malformed {topic.value} message: {exc}") from exc
    if not isinstance(message.attempt, int) or message.attempt < 1:
        raise BadRequest(f"malformed {topic.value} message: attempt must be a positive integer")
    return message
