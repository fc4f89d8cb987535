"""Composition root of the embedded runtime: SQLite, in-process bus, embedded BigQuery.

One process, no cloud account, no emulator to start by hand. All state lives
under ``$PIPELINES_HOME``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shared.adapters.bigquery_warehouse import BigQueryWarehouse
from shared.adapters.bq_emulator import EmbeddedBigQuery
from shared.adapters.clock import SystemClock
from shared.adapters.inprocess_bus import InProcessBus
from shared.adapters.local_secrets import LocalKeySecretBox
from shared.adapters.sqlite_ops import (
    SqliteBackfillStore,
    SqliteNotificationStore,
    SqliteScheduleStore,
)
from shared.adapters.sqlite_state import SqliteStateStore
from shared.catalog import PipelineCatalog
from shared.domain.messages import Message, StepEvent, StepRequest, Topic
from shared.handlers.coordinate import coordinate
from shared.handlers.notify import Notifier
from shared.handlers.run_step import run_step
from shared.handlers.services import Services
from shared.ports import Clock, Column, LineageKey, Warehouse
from shared.processors import PROCESSORS
from shared.settings import Settings


class LazyEmbeddedWarehouse:
    """Starts the embedded BigQuery on first use: status and history never pay for it."""

    def __init__(self, settings: Settings) -> None:
        self.project_id = settings.project_id
        self._settings = settings
        self._lock = threading.Lock()
        self._emulator: EmbeddedBigQuery | None = None
        self._warehouse: BigQueryWarehouse | None = None

    @property
    def started(self) -> bool:
        return self._warehouse is not None

    def _get(self) -> BigQueryWarehouse:
        with self._lock:
            if self._warehouse is None:
                self._emulator = EmbeddedBigQuery(
                    self._settings.home / "warehouse", project_id=self.project_id
                )
                self._emulator.start()
                self._warehouse = BigQueryWarehouse(self._emulator.client(), self.project_id)
            return self._warehouse

    def close(self) -> None:
        with self._lock:
            if self._emulator is not None:
                self._emulator.stop()
            self._emulator = self._warehouse = None

    def ensure_dataset(self, dataset: str) -> None:
        self._get().ensure_dataset(dataset)

    def ensure_table(self, dataset: str, table: str, columns: Sequence[Column]) -> None:
        self._get().ensure_table(dataset, table, columns)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._get().query(sql, params)

    def run_script(self, sql: str) -> None:
        self._get().run_script(sql)

    def load_rows(
        self,
        dataset: str,
        table: str,
        columns: Sequence[Column],
        rows: Iterable[Mapping[str, Any]],
        *,
        replace: bool = True,
    ) -> int:
        return self._get().load_rows(dataset, table, columns, rows, replace=replace)

    def replace_slice(
        self,
        dataset: str,
        table: str,
        columns: Sequence[Column],
        rows: Iterable[Mapping[str, Any]],
        key: LineageKey,
        *,
        job_tag: str,
    ) -> int:
        return self._get().replace_slice(dataset, table, columns, rows, key, job_tag=job_tag)


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
        self._own_warehouse = warehouse is None
        self.warehouse: Warehouse = warehouse or LazyEmbeddedWarehouse(self.settings)
        self.bus = InProcessBus(workers=workers, chaos=chaos)
        clock = clock or SystemClock()
        catalog = catalog or PipelineCatalog(ps_types=PROCESSORS.keys())
        state_db = self.settings.home / "state.db"
        self.notifier = Notifier(SqliteNotificationStore(state_db), clock, catalog.configs_dir)
        self.services = Services(
            store=SqliteStateStore(self.settings.home / "state.db", clock=clock),
            bus=self.bus,
            warehouse=self.warehouse,
            secrets=LocalKeySecretBox(self.settings.home / "secret.key"),
            catalog=catalog,
            clock=clock,
            settings=self.settings,
            schedules=SqliteScheduleStore(state_db),
            backfills=SqliteBackfillStore(state_db),
            events=self.notifier,
        )
        self.bus.subscribe(Topic.STEP_REQUESTS, self._on_step_request)
        self.bus.subscribe(Topic.STEP_EVENTS, self._on_step_event)

    def _on_step_request(self, message: Message) -> None:
        assert isinstance(message, StepRequest)
        run_step(self.services, message)

    def _on_step_event(self, message: Message) -> None:
        assert isinstance(message, StepEvent)
        coordinate(self.services, message)

    def close(self) -> None:
        self.bus.close()
        self.notifier.close()
        if self._own_warehouse and isinstance(self.warehouse, LazyEmbeddedWarehouse):
            self.warehouse.close()

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
        raise ValueError(f"PIPELINES_RUNTIME={settings.runtime!r} is not supported; use 'embedded'")
    with _embedded_lock:
        if _embedded is None:
            _embedded = EmbeddedRuntime(settings)
        return _embedded.services
