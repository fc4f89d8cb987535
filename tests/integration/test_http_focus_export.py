"""GET /api/v1/focus/export/{org}: the org's FOCUS rows as a CSV or Parquet download."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
import pytest
from flask.testing import FlaskClient

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.focus import COST_TABLE, COST_TABLE_COLUMNS
from tests.support.focus_rows import good_row
from tests.support.runtime import new_org

pytestmark = pytest.mark.warehouse

URL = "/api/v1/focus/export/{org}"


@pytest.fixture
def keys(runtime: EmbeddedRuntime) -> dict[str, str]:
    keys = {}
    for slug in ("acme", "globex"):
        keys[slug] = new_org(runtime, slug)[1]
        dataset = runtime.settings.org_dataset(slug)
        runtime.warehouse.ensure_dataset(dataset)
        runtime.warehouse.ensure_table(dataset, COST_TABLE, COST_TABLE_COLUMNS)
        rows = [
            good_row(slug, x_source_system="aws", ResourceId=f"{slug}-1"),
            good_row(slug, x_source_system="gcp", ResourceId=f"{slug}-2", BilledCost=Decimal("2")),
            good_row(
                slug,
                x_source_system="gcp",
                ResourceId=f"{slug}-3",
                x_pipeline_run_date=date(2026, 10, 5),
            ),
        ]
        # replace: the session warehouse outlives this test's runtime
        runtime.warehouse.load_rows(dataset, COST_TABLE, COST_TABLE_COLUMNS, rows, replace=True)
    return keys


def _get(client: FlaskClient, org: str, key: str | None, **query: str) -> Any:
    headers = {} if key is None else {"X-API-Key": key}
    return client.get(URL.format(org=org), headers=headers, query_string=query)


def _csv_rows(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv_download_is_the_orgs_rows_in_focus_shape(
    client: FlaskClient, keys: dict[str, str]
) -> None:
    response = _get(client, "acme", keys["acme"])
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == ('attachment; filename="acme_focus_1_3.csv"')
    rows = _csv_rows(response)
    assert sorted(r["ResourceId"] for r in rows) == ["acme-1", "acme-2", "acme-3"]
    assert {r["x_org_slug"] for r in rows} == {"acme"}
    first = rows[0]
    assert first["ChargePeriodStart"] == "2026-10-02T00:00:00Z"
    assert first["Tags"] == '{"env":"prod"}'
    assert first["BilledCost"] in {"1.5", "2"}
    assert list(first) == [c.name for c in COST_TABLE_COLUMNS]


def test_scoped_by_source_and_days(client: FlaskClient, keys: dict[str, str]) -> None:
    gcp = _csv_rows(_get(client, "acme", keys["acme"], source="gcp"))
    assert sorted(r["ResourceId"] for r in gcp) == ["acme-2", "acme-3"]
    late = _csv_rows(_get(client, "acme", keys["acme"], start="2026-10-03", end="2026-10-31"))
    assert [r["ResourceId"] for r in late] == ["acme-3"]


def test_parquet_download(client: FlaskClient, keys: dict[str, str]) -> None:
    response = _get(client, "globex", keys["globex"], format="parquet")
    assert response.status_code == 200
    table = pq.read_table(io.BytesIO(response.get_data()))
    assert table.num_rows == 3
    assert set(table.column("x_org_slug").to_pylist()) == {"globex"}
    assert table.schema.field("BilledCost").type.scale == 9


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"format": "xlsx"}, 400, "format"),
        ({"sorce": "gcp"}, 400, "sorce"),
        ({"start": "2026-10-32"}, 400, "start"),
    ],
)
def test_bad_query_says_what_is_wrong(
    client: FlaskClient, keys: dict[str, str], query: dict[str, str], status: int, field: str
) -> None:
    response = _get(client, "acme", keys["acme"], **query)
    assert response.status_code == status
    assert response.get_json()["error"]["details"]["field"] == field


def test_only_the_orgs_own_key_reads_its_rows(client: FlaskClient, keys: dict[str, str]) -> None:
    assert _get(client, "acme", None).status_code == 401
    assert _get(client, "acme", keys["globex"]).status_code == 401


def test_an_org_without_focus_rows_gets_the_header_only(
    client: FlaskClient, runtime: EmbeddedRuntime
) -> None:
    _, key = new_org(runtime, "initech")
    response = _get(client, "initech", key)
    assert response.status_code == 200, response.get_json()
    assert response.get_data(as_text=True).splitlines() == [
        ",".join(c.name for c in COST_TABLE_COLUMNS)
    ]
