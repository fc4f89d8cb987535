"""Pytest plugin: one embedded BigQuery per session, a fresh dataset per test.

Registered from tests/conftest.py with ``pytest_plugins``. Starting the emulator costs
~2.5 s, so it is shared; isolation comes from giving every test its own dataset.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from google.cloud import bigquery

from shared.adapters.bigquery.emulator import EmbeddedBigQuery
from shared.adapters.bigquery.warehouse import BigQueryWarehouse

PROJECT_ID = "pipelines-test"


@pytest.fixture(scope="session")
def embedded_bq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBigQuery]:
    with EmbeddedBigQuery(tmp_path_factory.mktemp("bqemulator"), PROJECT_ID) as bq:
        yield bq


@pytest.fixture(scope="session")
def bq_client(embedded_bq: EmbeddedBigQuery) -> bigquery.Client:
    return embedded_bq.client()


@pytest.fixture
def dataset(bq_client: bigquery.Client) -> Iterator[str]:
    """A new, empty dataset for one test, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    bq_client.delete_dataset(f"{PROJECT_ID}.{name}", delete_contents=True, not_found_ok=True)


@pytest.fixture
def warehouse(bq_client: bigquery.Client, dataset: str) -> BigQueryWarehouse:
    warehouse = BigQueryWarehouse(bq_client, PROJECT_ID)
    warehouse.ensure_dataset(dataset)
    return warehouse
