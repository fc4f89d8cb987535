"""Composition roots of the function runtimes: ``emulators`` (local) and ``gcp``.

- emulators: Firestore and Pub/Sub emulators (the clients follow FIRESTORE_EMULATOR_HOST
  and PUBSUB_EMULATOR_HOST), BigQuery = bqemulator at BIGQUERY_EMULATOR_URL, secrets in
  the local key file under $PIPELINES_HOME (no KMS emulator exists).
- gcp: Firestore, Pub/Sub, BigQuery and Cloud KMS (PIPELINES_KMS_KEY names the key)
  with the function's service account (application default credentials).

Client libraries are imported inside the builders: a function's cold start pays only
for what it builds.
"""

from __future__ import annotations

import functools
import importlib
import os

from shared.adapters.clock import SystemClock
from shared.config.catalog import PipelineCatalog
from shared.config.settings import Settings
from shared.domain.notifications import PipelineEvent
from shared.handlers import meta_mirror
from shared.handlers.notify import Notifier
from shared.handlers.services import Services
from shared.ports import SecretBox, Warehouse

RUNTIMES = ("emulators", "gcp")
# Extra modules whose processors register on import (comma-separated module names):
# processors that are not part of the product (the topology tests', the benchmark's).
PROCESSOR_MODULES_ENV = "PIPELINES_PROCESSOR_MODULES"


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ValueError(
            f"{name} must be set for PIPELINES_RUNTIME={os.environ.get('PIPELINES_RUNTIME')}"
        )
    return value


def build_cloud_services(settings: Settings) -> Services:
    if settings.runtime not in RUNTIMES:
        raise ValueError(f"PIPELINES_RUNTIME={settings.runtime!r}; expected one of {RUNTIMES}")
    from google.cloud import firestore

    from shared.adapters.firestore.client import bound_deadlines
    from shared.adapters.firestore.credentials import FirestoreCredentialStore
    from shared.adapters.firestore.ops import (
        FirestoreBackfillStore,
        FirestoreNotificationStore,
        FirestoreScheduleStore,
    )
    from shared.adapters.firestore.state import FirestoreStateStore
    from shared.adapters.pubsub_bus import PubSubBus
    from shared.processors import PROCESSORS

    if settings.runtime == "emulators":
        _require("FIRESTORE_EMULATOR_HOST")
        _require("PUBSUB_EMULATOR_HOST")
    clock = SystemClock()
    for module in filter(None, os.environ.get(PROCESSOR_MODULES_ENV, "").split(",")):
        importlib.import_module(module.strip())  # before the catalog checks ps_types
    db = bound_deadlines(
        firestore.Client(project=settings.project_id), settings.dependency_deadline_seconds
    )
    catalog = PipelineCatalog(ps_types=PROCESSORS.keys())
    secrets = _secrets(settings)
    services = Services(
        store=FirestoreStateStore(db, clock=clock),
        bus=PubSubBus(settings.project_id),
        warehouse=_warehouse(settings),
        secrets=secrets,
        catalog=catalog,
        clock=clock,
        settings=settings,
        credentials=FirestoreCredentialStore(db),
        schedules=FirestoreScheduleStore(db),
        backfills=FirestoreBackfillStore(db),
        events=InlineNotifier(
            FirestoreNotificationStore(db), clock, catalog.configs_dir, secrets=secrets
        ),
    )
    meta_mirror.attach(services)  # deliveries -> the org's BigQuery history
    return services


class InlineNotifier(Notifier):
    """Delivers each event inside the handler that emitted it.

    A function instance may be throttled or stopped as soon as its handler returns, so
    the embedded runtime's background delivery thread could lose events here. Delivery
    (with its retries) therefore runs before the function acknowledges its message; a
    failure is logged and never raised into the pipeline (EventSink contract).
    """

    def emit(self, event: PipelineEvent) -> None:
        self.deliver_now(functools.partial(self.deliver, event), f"run {event.run_id}")


def _warehouse(settings: Settings) -> Warehouse:
    from google.cloud import bigquery

    from shared.adapters.bigquery.warehouse import BigQueryWarehouse

    if settings.runtime == "emulators":
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        url = _require("BIGQUERY_EMULATOR_URL")
        client = bigquery.Client(
            project=settings.project_id,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options=ClientOptions(api_endpoint=url),
        )
        return BigQueryWarehouse(
            client, settings.project_id, retry_deadline_seconds=settings.dependency_deadline_seconds
        )
    location = os.environ.get("PIPELINES_BQ_LOCATION")
    return BigQueryWarehouse(
        lambda: bigquery.Client(project=settings.project_id),
        settings.project_id,
        location=location,
        retry_deadline_seconds=settings.dependency_deadline_seconds,
    )


def _secrets(settings: Settings) -> SecretBox:
    if settings.runtime == "emulators":
        from shared.adapters.local_secrets import LocalKeySecretBox

        return LocalKeySecretBox(settings.home / "secret.key")
    from shared.adapters.kms_secrets import KmsSecretBox

    return KmsSecretBox(_require("PIPELINES_KMS_KEY"))
