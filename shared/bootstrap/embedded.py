"""Composition root of the embedded runtime: SQLite, in-process bus, embedded BigQuery.

One process, no cloud account, no emulator to start by hand. All state lives
under ``$PIPELINES_HOME``.
"""

from __future__ import annotations

import threading
from collections import Counter

from google.cloud import bigquery

from shared.adapters.bigquery.emulator import EmbeddedBigQuery
from shared.adapters.bigquery.warehouse import BigQueryWarehouse
from shared.adapters.clock import SystemClock
from shared.adapters.home_lock import HomeLock
from shared.adapters.inprocess_bus import InProcessBus
from shared.adapters.local_secrets import LocalKeySecretBox
from shared.adapters.outages import classify
from shared.adapters.sqlite.credentials import SqliteCredentialStore
from shared.adapters.sqlite.ops import (
    SqliteBackfillStore,
    SqliteNotificationStore,
    SqliteScheduleStore,
)
from shared.adapters.sqlite.state import SqliteStateStore
from shared.config.catalog import PipelineCatalog
from shared.config.settings import Settings
from shared.domain.messages import Message, StepEvent, StepRequest, Topic
from shared.handlers import meta_mirror
from shared.handlers.coordinate import coordinate
from shared.handlers.maintenance import reset_stale_concurrent_counts
from shared.handlers.notify import Notifier
from shared.handlers.run_step import lease_live, run_step
from shared.handlers.services import Services
from shared.ports import Clock, Warehouse
from shared.processors import PROCESSORS

ORPHANED_RUN = (
    "the embedded runtime running it stopped before it finished (killed, crashed or shut"
    " down): rerun it"
)


class EmbeddedRuntime:
    """Everything wired together; use as a context manager so threads and files close."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        warehouse: Warehouse | None = None,
        clock: Clock | None = None,
        catalog: PipelineCatalog | None = None,
        chaos: bool = False,
        workers: int = 4,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self._emulator: EmbeddedBigQuery | None = None
        if warehouse is None:
            self._emulator = EmbeddedBigQuery(
                self.settings.home / "warehouse", project_id=self.settings.project_id
            )
            warehouse = BigQueryWarehouse(
                self._start_emulator,
                self.settings.project_id,
                retry_deadline_seconds=self.settings.dependency_deadline_seconds,
            )
        self.warehouse = warehouse
        self.bus = InProcessBus(workers=workers, chaos=chaos)
        clock = clock or SystemClock()
        catalog = catalog or PipelineCatalog(ps_types=PROCESSORS.keys())
        state_db = self.settings.home / "state.db"
        secrets = LocalKeySecretBox(self.settings.home / "secret.key")
        self.notifier = Notifier(
            SqliteNotificationStore(state_db), clock, catalog.configs_dir, secrets=secrets
        )
        self.services = Services(
            store=SqliteStateStore(state_db, clock=clock),
            bus=self.bus,
            warehouse=self.warehouse,
            secrets=secrets,
            catalog=catalog,
            clock=clock,
            settings=self.settings,
            credentials=SqliteCredentialStore(state_db),
            schedules=SqliteScheduleStore(state_db),
            backfills=SqliteBackfillStore(state_db),
            events=self.notifier,
        )
        meta_mirror.attach(self.services)  # deliveries -> the org's BigQuery history
        # Step deliveries being handled now, per attempt: tells a runner that died holding
        # its attempt's claim from a live duplicate delivery holding it.
        self._runners: Counter[tuple[str, str, int]] = Counter()
        self._runners_lock = threading.Lock()
        self.bus.subscribe(Topic.STEP_REQUESTS, self._on_step_request)
        self.bus.subscribe(Topic.STEP_EVENTS, self._on_step_event)
        self._home_lock = HomeLock(self.settings.home / "runtime.lock")
        if self._home_lock.sole:
            # No other runtime is alive on this home: unfinished runs were left by a
            # process that died (kill -9, power loss); their messages died with it.
            reset_stale_concurrent_counts(self.services, all_dead=ORPHANED_RUN)
        self._home_lock.share()

    def _start_emulator(self) -> bigquery.Client:
        assert self._emulator is not None
        self._emulator.start()  # idempotent
        return self._emulator.client()

    def _on_step_request(self, message: Message) -> None:
        assert isinstance(message, StepRequest)
        key = (message.run_id, message.step_id, message.attempt)
        with self._runners_lock:
            self._runners[key] += 1
        try:
            run_step(self.services, message)
        except Exception as exc:
            if not self._report_dead_runner(message, exc):
                raise  # it died before claiming: the bus's redelivery runs it
        finally:
            with self._runners_lock:
                self._runners[key] -= 1
                if not self._runners[key]:
                    del self._runners[key]

    def _report_dead_runner(self, message: StepRequest, exc: Exception) -> bool:
        """A runner that died holding its claim (e.g. after its write, before its outcome
        was published) reports its attempt failed, so the coordinator retries it.

        Its redelivery alone would be refused by the claim's live lease (timeout + grace)
        and the run would wait for the stale-run sweeper. In this process, a claim held
        by no live delivery belongs to the dead runner. Returns False if it held none.
        """
        step = self.services.store.get_steps(message.run_id).get(message.step_id)
        with self._runners_lock:
            others_live = self._runners[(message.run_id, message.step_id, message.attempt)] > 1
        if others_live or not lease_live(step, message.attempt, self.services.clock.now()):
            return False  # someone else runs it, or its outcome was recorded
        error = classify(exc).message
        self.services.bus.publish(
            StepEvent(
                message.run_id,
                message.org_slug,
                message.step_id,
                message.attempt,
                succeeded=False,
                error=f"step runner died: {error}",
                retryable=True,
            )
        )
        return True

    def _on_step_event(self, message: Message) -> None:
        assert isinstance(message, StepEvent)
        coordinate(self.services, message)

    def close(self) -> None:
        self.bus.close()
        self.notifier.close()
        if self._emulator is not None:
            self._emulator.stop()
        self._home_lock.close()

    def __enter__(self) -> EmbeddedRuntime:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


_embedded: EmbeddedRuntime | None = None
_embedded_lock = threading.Lock()


def build_services() -> Services:
    """The services of this process's runtime (PIPELINES_RUNTIME), built once."""
    global _embedded
    settings = Settings.from_env()
    if settings.runtime != "embedded":
        from shared.bootstrap.cloud import build_cloud_services  # emulators | gcp

        return build_cloud_services(settings)
    with _embedded_lock:
        if _embedded is None:
            _embedded = EmbeddedRuntime(settings)
        return _embedded.services
