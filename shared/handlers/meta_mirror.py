"""Mirror runs, schedules and notification deliveries into the BigQuery meta tables.

The state store is the truth; ``organizations.pipeline_runs`` / ``pipeline_schedules``
and each org's ``org_notification_history`` are the copies the dashboards read
(shared/domain/meta.py). Every write is one MERGE on the key (procedures/meta/), keeping
the newer state, so a repeated or reordered mirror is harmless.

When: a run on creation (dispatch) and at each later status (processing, completed,
failed, cancelled); a schedule on create, update and firing; a delivery when recorded.
That is 2-3 single-row DML statements per run, off the steps' own work: a mirror never
runs per step attempt or per page.

A warehouse error never fails what is being mirrored: it is logged ("meta mirror
behind: ...") and :func:`catch_up` (a periodic maintenance job) re-mirrors what the
tables miss. After an outage the mirrors of this process pause for
:data:`PAUSE_AFTER_OUTAGE_SECONDS` instead of each waiting out the warehouse's retry
deadline on the run's path; the catch-up fills what they skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from shared.adapters.bigquery.sql_files import PROCEDURES_DIR, render_sql
from shared.domain import meta
from shared.domain.errors import DependencyUnavailable, NotFound
from shared.domain.models import Run
from shared.domain.notifications import Delivery
from shared.domain.schedules import Schedule
from shared.handlers.services import Services
from shared.ports import Warehouse

log = logging.getLogger(__name__)
_T = TypeVar("_T")

SQL_DIR = PROCEDURES_DIR / "meta"
CATCH_UP_DAYS = 3  # runs created this long ago or later are compared by the catch-up
PAUSE_AFTER_OUTAGE_SECONDS = 60.0
_DELIVERY_SCAN_LIMIT = 10_000  # recorded deliveries per org the catch-up looks at


# -- mirroring one change (never raises) -------------------------------------------------


def mirror_run(services: Services, run: Run) -> None:
    """Mirror ``run`` (read with its steps) as it is now."""
    _guarded(services, f"run {run.run_id}", lambda: _merge_run(services, run))


def run_changed(services: Services, org_slug: str, run_id: str) -> None:
    """Mirror the run's current state, read from the store."""

    def work() -> None:
        run = services.store.get_run(org_slug, run_id)
        if run is not None:
            _merge_run(services, run)

    _guarded(services, f"run {run_id}", work)


def mirror_schedule(services: Services, schedule: Schedule) -> None:
    _guarded(
        services, f"schedule {schedule.schedule_id}", lambda: _merge_schedule(services, schedule)
    )


def mirror_delivery(services: Services, delivery: Delivery) -> None:
    _guarded(
        services,
        f"{delivery.channel} delivery for run {delivery.run_id}",
        lambda: _merge_delivery(services, delivery),
    )


def attach(services: Services) -> None:
    """Mirror the deliveries the runtime's notifier records (a no-op without one)."""
    from shared.handlers.notify import Notifier  # notify imports handlers that import us

    if isinstance(services.events, Notifier):
        services.events.on_recorded = lambda delivery: mirror_delivery(services, delivery)


# -- the catch-up job ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CatchUp:
    runs: int  # rows re-mirrored because the table lacked them or held an older state
    schedules: int
    deliveries: int
    since: datetime

    def summary(self) -> str:
        return (
            f"{self.runs} runs, {self.schedules} schedules, {self.deliveries} deliveries "
            f"re-mirrored (runs and deliveries since {self.since.isoformat()})"
        )


def catch_up(services: Services, *, days: int = CATCH_UP_DAYS) -> CatchUp:
    """Bring the meta tables up to date: every run created in the last ``days`` days,
    every schedule, and the deliveries recorded since, where the table misses them or
    holds an older state. Raises if the warehouse is still down (the job is retried).

    Costs one query per org and table, plus one MERGE per row that was behind: only
    the queries once the tables are current.
    """
    since = services.clock.now() - timedelta(days=days)
    runs = schedules = deliveries = 0
    for org in sorted(services.store.list_orgs(), key=lambda o: o.org_slug):
        runs += _catch_up_runs(services, org.org_slug, since)
        deliveries += _catch_up_deliveries(services, org.org_slug, since)
    if services.schedules is not None:
        mirrored = {
            r["schedule_id"]: meta.schedule_version(r)
            for r in _query(services, "mirrored_schedules.sql", meta.META_DATASET)
        }
        for schedule in services.schedules.list_schedules():
            row = _schedule_row(services, schedule)
            known = mirrored.get(schedule.schedule_id)
            if known is None or known < meta.schedule_version(row):
                _merge(services, "merge_pipeline_schedule.sql", meta.META_DATASET, row)
                schedules += 1
    _pause.end(services.warehouse)  # the warehouse answers: live mirrors resume
    result = CatchUp(runs, schedules, deliveries, since)
    log.info("meta mirror caught up: %s", result.summary())
    return result


def _catch_up_runs(services: Services, org_slug: str, since: datetime) -> int:
    mirrored = {
        r["run_id"]: meta.run_version(r)
        for r in _query(
            services, "mirrored_runs.sql", meta.META_DATASET, org_slug=org_slug, since=since
        )
    }
    behind = 0
    for run in _runs_created_since(services, org_slug, since):
        row = meta.run_row(run)
        known = mirrored.get(run.run_id)
        if known is None or known < meta.run_version(row):
            _merge(services, "merge_pipeline_run.sql", meta.META_DATASET, row)
            behind += 1
    return behind


def _catch_up_deliveries(services: Services, org_slug: str, since: datetime) -> int:
    from shared.handlers.notify import Notifier

    if not isinstance(services.events, Notifier):
        return 0
    recorded = [
        d
        for d in services.events.store.list_deliveries(org_slug, limit=_DELIVERY_SCAN_LIMIT)
        if d.at >= since
    ]
    if not recorded:
        return 0
    dataset = services.settings.org_dataset(org_slug)
    have = {
        r["delivery_key"] for r in _query(services, "mirrored_deliveries.sql", dataset, since=since)
    }
    missing = [d for d in recorded if meta.delivery_key(d) not in have]
    for delivery in missing:
        _merge(services, "merge_notification_delivery.sql", dataset, meta.delivery_row(delivery))
    return len(missing)


def _runs_created_since(services: Services, org_slug: str, since: datetime) -> list[Run]:
    """The org's runs created at ``since`` or later, with their steps (newest first)."""
    found: list[Run] = []
    before: datetime | None = None
    before_run_id: str | None = None
    while True:
        page = services.store.list_runs(
            org_slug, limit=200, before=before, before_run_id=before_run_id
        )
        for run in page:
            if run.created_at < since:
                return found
            found.append(run)
        if len(page) < 200:
            return found
        before, before_run_id = page[-1].created_at, page[-1].run_id


# -- the writes ------------------------------------------------------------------------


def _merge_run(services: Services, run: Run) -> None:
    _merge(services, "merge_pipeline_run.sql", meta.META_DATASET, meta.run_row(run))


def _merge_schedule(services: Services, schedule: Schedule) -> None:
    row = _schedule_row(services, schedule)
    _merge(services, "merge_pipeline_schedule.sql", meta.META_DATASET, row)


def _merge_delivery(services: Services, delivery: Delivery) -> None:
    dataset = services.settings.org_dataset(delivery.org_slug)
    _merge(services, "merge_notification_delivery.sql", dataset, meta.delivery_row(delivery))


def _schedule_row(services: Services, schedule: Schedule) -> dict[str, Any]:
    from shared.handlers.scheduler import public  # scheduler imports us: its hooks

    return meta.schedule_row(schedule, provider=public(services, schedule)["provider"])


def _merge(services: Services, file: str, dataset: str, row: Mapping[str, object]) -> None:
    sql = _render(services, file, dataset, row)
    _on_tables(services.warehouse, dataset, lambda: services.warehouse.run_script(sql))


def _query(services: Services, file: str, dataset: str, **literals: object) -> list[dict[str, Any]]:
    sql = _render(services, file, dataset, literals)
    return _on_tables(services.warehouse, dataset, lambda: services.warehouse.query(sql))


def _on_tables(warehouse: Warehouse, dataset: str, call: Callable[[], _T]) -> _T:
    """``call`` on ``dataset``'s meta tables, created first if this process has not yet;
    once more if they were dropped since (a dataset rebuilt)."""
    _ensure_tables(warehouse, dataset)
    try:
        return call()
    except NotFound:
        _forget_tables(warehouse, dataset)
        _ensure_tables(warehouse, dataset)
        return call()


def _render(services: Services, file: str, dataset: str, literals: Mapping[str, object]) -> str:
    return render_sql(
        SQL_DIR / file,
        identifiers={"project_id": services.warehouse.project_id, "dataset": dataset},
        literals=literals,
    )


# Datasets whose meta tables this process has ensured, per warehouse: a mirror costs its
# MERGE, not also a tables.insert call each time.
_ensured: set[tuple[int, str]] = set()
_ensured_lock = threading.Lock()


def _ensure_tables(warehouse: Warehouse, dataset: str) -> None:
    """The meta dataset's two tables, or an org dataset's delivery history."""
    key = (id(warehouse), dataset)
    with _ensured_lock:
        if key in _ensured:
            return
    warehouse.ensure_dataset(dataset)
    if dataset == meta.META_DATASET:
        warehouse.ensure_table(dataset, meta.RUNS_TABLE, meta.RUN_COLUMNS)
        warehouse.ensure_table(dataset, meta.SCHEDULES_TABLE, meta.SCHEDULE_COLUMNS)
    else:
        warehouse.ensure_table(dataset, meta.HISTORY_TABLE, meta.HISTORY_COLUMNS)
    with _ensured_lock:
        _ensured.add(key)


def _forget_tables(warehouse: Warehouse, dataset: str) -> None:
    with _ensured_lock:
        _ensured.discard((id(warehouse), dataset))


# -- failures --------------------------------------------------------------------------


class _Pause:
    """Per warehouse: until when live mirrors skip (it was just found unreachable)."""

    def __init__(self) -> None:
        self._until: dict[int, float] = {}
        self._lock = threading.Lock()

    def active(self, warehouse: Warehouse) -> bool:
        with self._lock:
            return self._until.get(id(warehouse), 0.0) > time.monotonic()

    def start(self, warehouse: Warehouse) -> None:
        with self._lock:
            self._until[id(warehouse)] = time.monotonic() + PAUSE_AFTER_OUTAGE_SECONDS

    def end(self, warehouse: Warehouse) -> None:
        with self._lock:
            self._until.pop(id(warehouse), None)


_pause = _Pause()


def _guarded(services: Services, what: str, work: Callable[[], None]) -> None:
    """Run one mirror; a failure is logged, never raised into what changed."""
    if _pause.active(services.warehouse):
        log.warning(
            "meta mirror behind: %s not mirrored (warehouse unreachable; the catch-up "
            "job will mirror it)",
            what,
        )
        return
    try:
        work()
    except DependencyUnavailable as exc:
        _pause.start(services.warehouse)
        log.warning("meta mirror behind: %s not mirrored, the catch-up job will: %s", what, exc)
    except Exception as exc:  # a mirror must never fail the run, step or request
        log.exception("meta mirror behind: %s not mirrored, the catch-up job will: %s", what, exc)
