"""The consumer side of Pub/Sub delays: sleep a short wait, redeliver a long one."""

from __future__ import annotations

import time

import pytest

from shared.adapters.pubsub_bus import NOT_BEFORE, NotDue, hold_until_due, seconds_until_due


def test_an_undelayed_or_due_message_is_handled_at_once() -> None:
    slept: list[float] = []
    hold_until_due({}, sleep=slept.append)
    hold_until_due({NOT_BEFORE: f"{time.time() - 5:.3f}"}, sleep=slept.append)
    assert slept == []


def test_a_short_wait_is_slept() -> None:
    slept: list[float] = []
    hold_until_due({NOT_BEFORE: f"{time.time() + 2:.3f}"}, max_sleep=10, sleep=slept.append)
    assert len(slept) == 1
    assert 1.5 < slept[0] <= 2.01


def test_a_long_wait_asks_for_redelivery() -> None:
    with pytest.raises(NotDue) as caught:
        hold_until_due({NOT_BEFORE: f"{time.time() + 60:.3f}"}, max_sleep=10)
    assert 55 < caught.value.seconds_left <= 60.01  # not_before has ms precision


def test_a_garbled_delay_does_not_hold_the_message() -> None:
    assert seconds_until_due({NOT_BEFORE: "soon"}) == 0.0
