from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.domain import quota
from shared.domain.errors import BadRequest
from shared.domain.quota import QuotaLimits, QuotaUsage, SubscriptionStatus
from shared.domain.retry import backoff_delay, should_retry
from shared.domain.run_window import MAX_RUN_DAYS, parse_run_window

LIMITS = QuotaLimits(daily=10, monthly=100, concurrent=2)


@pytest.mark.parametrize(
    ("usage", "hit"),
    [
        (QuotaUsage(daily=0, monthly=0, concurrent=0), None),
        (QuotaUsage(daily=9, monthly=99, concurrent=1), None),
        (QuotaUsage(daily=0, monthly=0, concurrent=2), "concurrent"),
        (QuotaUsage(daily=10, monthly=10, concurrent=0), "daily"),
        (QuotaUsage(daily=1, monthly=100, concurrent=0), "monthly"),
        (QuotaUsage(daily=10, monthly=100, concurrent=2), "concurrent"),  # first one named
    ],
)
def test_quota_decision(usage: QuotaUsage, hit: str | None) -> None:
    decision = quota.decide(LIMITS, usage)
    assert decision.admitted is (hit is None)
    assert decision.limit_hit == hit
    if hit:
        assert decision.message == f"{hit.capitalize()} pipeline limit reached"
        assert (decision.used, decision.limit) == (getattr(usage, hit), getattr(LIMITS, hit))


def test_buckets_are_utc_day_and_month() -> None:
    moment = datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC)
    assert (quota.day_bucket(moment), quota.month_bucket(moment)) == ("2026-01-31", "2026-01")


def test_only_active_and_trial_may_run() -> None:
    assert {s for s in SubscriptionStatus if s.may_run} == {
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.TRIAL,
    }


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_delay(n, 2.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert backoff_delay(20, 2.0) == 600.0
    with pytest.raises(ValueError, match="start at 1"):
        backoff_delay(0, 1.0)


def test_should_retry_only_retryable_failures_within_attempts() -> None:
    assert should_retry(1, 3, retryable=True)
    assert not should_retry(3, 3, retryable=True)
    assert not should_retry(1, 3, retryable=False)


TODAY = date(2026, 11, 22)


def test_run_window_defaults_to_yesterday() -> None:
    assert parse_run_window({}, TODAY) == (date(2026, 11, 21), date(2026, 11, 21))


def test_run_window_single_date_and_range() -> None:
    assert parse_run_window({"date": "2026-10-05"}, TODAY) == (date(2026, 10, 5),) * 2
    assert parse_run_window({"start_date": "2026-10-01", "end_date": "2026-10-31"}, TODAY) == (
        date(2026, 10, 1),
        date(2026, 10, 31),
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date": 20261005}, "date"),
        ({"date": "yesterday"}, "date"),
        ({"date": "2026-10-01", "end_date": "2026-10-02"}, "date"),
        ({"end_date": "2026-10-02"}, "start_date"),
        ({"start_date": "2026-10-03", "end_date": "2026-10-02"}, "start_date"),
        ({"start_date": "2026-01-01", "end_date": "2026-12-31"}, "end_date"),
    ],
)
def test_run_window_rejects_bad_input_naming_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(BadRequest) as error:
        parse_run_window(body, TODAY)
    assert error.value.details["field"] == field


def test_run_window_limit_is_inclusive() -> None:
    start = date(2026, 1, 1)
    end = date.fromordinal(start.toordinal() + MAX_RUN_DAYS - 1)
    assert parse_run_window(
        {"start_date": start.isoformat(), "end_date": end.isoformat()}, TODAY
    ) == (start, end)
