"""What every handler is given: the ports, the catalog and the settings."""

from __future__ import annotations

from dataclasses import dataclass

from shared.config.catalog import PipelineCatalog
from shared.config.settings import Settings
from shared.ports import (
    BackfillStore,
    Clock,
    CredentialStore,
    EventSink,
    MessageBus,
    ScheduleStore,
    SecretBox,
    StateStore,
    Warehouse,
)


@dataclass(slots=True)
class Services:
    store: StateStore
    bus: MessageBus
    warehouse: Warehouse
    secrets: SecretBox
    catalog: PipelineCatalog
    clock: Clock
    settings: Settings
    credentials: CredentialStore  # provider credentials, ciphertext only
    # Operations stores (scheduler, backfill); None in runtimes that have not wired them.
    schedules: ScheduleStore | None = None
    backfills: BackfillStore | None = None
    events: EventSink | None = None  # pipeline events -> notifications
