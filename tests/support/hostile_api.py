"""For the hostile-input suites (tests/security): a real API over an embedded runtime,
and snapshots of everything a request could write (state store and warehouse)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from google.cloud import bigquery

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.config.tables import ORG_TABLES
from shared.domain.sql import table_ref
from tests.support.http import api_client
from tests.support.runtime import make_runtime, new_org, record_pipeline, write_configs

ROOT_KEY = "root-key-for-hostile-tests"
PIPELINE: dict[str, Any] = record_pipeline("quick")


@dataclass
class Api:
    """The functions-framework app over one runtime, with one seeded org and run."""

    runtime: EmbeddedRuntime
    app: Flask
    client: FlaskClient
    org: str
    key: str
    run_id: str
    configs: Path
    bq_client: bigquery.Client

    def snapshot(self) -> tuple[list[str], list[tuple[str, int]]]:
        """What a refused request must leave as it was."""
        store = store_snapshot(self.runtime)
        return store, warehouse_snapshot(self.runtime, self.bq_client, self.org)


def store_snapshot(runtime: EmbeddedRuntime) -> list[str]:
    """Every row of the state database (runs, orgs, quotas, logs, schedules...)."""
    with sqlite3.connect(runtime.settings.home / "state.db") as db:
        return list(db.iterdump())


def warehouse_snapshot(
    runtime: EmbeddedRuntime, client: bigquery.Client, org: str
) -> list[tuple[str, int]]:
    """Datasets of the project, and the row count of each of the org's tables."""
    warehouse = runtime.warehouse
    datasets = sorted(d.dataset_id for d in client.list_datasets())
    dataset = runtime.settings.org_dataset(org)
    counts = " UNION ALL ".join(
        f"SELECT '{t}' AS t, COUNT(*) AS n FROM {table_ref(warehouse.project_id, dataset, t)}"
        for t in ORG_TABLES
    )
    rows = warehouse.query(counts)
    return [(d, -1) for d in datasets] + sorted((r["t"], r["n"]) for r in rows)


@contextmanager
def open_api(
    tmp_path_factory: pytest.TempPathFactory, session_warehouse: Any, bq_client: bigquery.Client
) -> Iterator[Api]:
    """The API with one org (and one completed run); use it for a whole module: building
    a runtime and an org dataset costs about a second."""
    home = tmp_path_factory.mktemp("hostile")
    configs = write_configs(home, {"subscription/costs/quick": PIPELINE})
    with (
        pytest.MonkeyPatch.context() as mp,
        make_runtime(home / "home", configs, warehouse=session_warehouse) as runtime,
    ):
        mp.setenv("PIPELINES_ROOT_KEY", ROOT_KEY)
        client = api_client(runtime, mp)
        org = f"sec_{home.name.replace('-', '_')[-20:]}".lower()
        _, key = new_org(runtime, org)
        started = client.post(
            f"/api/v1/pipelines/run/{org}/subscription/costs/quick",
            json={"date": "2026-10-01"},
            headers={"X-API-Key": key},
        )
        assert started.status_code == 202, started.get_json()
        assert runtime.bus.drain(10)
        yield Api(
            runtime,
            client.application,
            client,
            org,
            key,
            started.get_json()["run_id"],
            configs,
            bq_client,
        )
