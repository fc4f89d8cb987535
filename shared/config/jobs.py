"""Periodic jobs: which Cloud Scheduler job publishes to which topic, and when.

Each job has its own Pub/Sub topic and its own entry point in
functions/maintenance/main.py (one deployed function per job). The schedules are
Cloud Scheduler crons in UTC; terraform/scheduler.tf declares the same table and
tests/tooling/test_terraform.py checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class JobTopic(StrEnum):
    QUOTA_RESET_DAILY = "quota-reset-daily"
    QUOTA_RESET_MONTHLY = "quota-reset-monthly"
    STALE_SWEEP = "stale-sweep"
    SCHEDULES_TICK = "schedules-tick"  # the API-managed schedules (ScheduleStore)
    META_CATCH_UP = "meta-catch-up"  # the BigQuery meta tables behind the state store


@dataclass(frozen=True, slots=True)
class Job:
    topic: JobTopic
    entry_point: str  # in functions/maintenance/main.py
    cron: str  # UTC


JOBS = (
    Job(JobTopic.QUOTA_RESET_DAILY, "reset_daily_quotas", "0 0 * * *"),
    Job(JobTopic.QUOTA_RESET_MONTHLY, "reset_monthly_quotas", "0 0 1 * *"),
    Job(JobTopic.STALE_SWEEP, "reset_stale_concurrent_counts", "*/15 * * * *"),
    Job(JobTopic.SCHEDULES_TICK, "schedules_tick", "* * * * *"),
    Job(JobTopic.META_CATCH_UP, "meta_catch_up", "7 * * * *"),  # hourly, off the hour
)
