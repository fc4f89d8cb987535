"""Shared fixtures: the embedded BigQuery plugin, and one warehouse for runtime tests."""

from __future__ import annotations

import pytest
from google.cloud import bigquery

from shared.adapters.bigquery.warehouse import BigQueryWarehouse

pytest_plugins = [
    "tests.warehouse_fixtures",
    "tests.support.emulators",
    "tests.support.object_stores",
]


@pytest.fixture(scope="session")
def session_warehouse(bq_client: bigquery.Client) -> BigQueryWarehouse:
    """The session's embedded BigQuery, for runtimes whose tests isolate by org dataset."""
    return BigQueryWarehouse(bq_client, bq_client.project)
