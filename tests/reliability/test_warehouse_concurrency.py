"""The embedded warehouse under the concurrency the runtime produces (issue 11).

bqemulator serves every request from one DuckDB connection; before requests were
serialised (shared/adapters/bigquery/emulator.py), threads mixing load jobs, DML scripts,
paged reads (tabledata.list runs on FastAPI's thread pool) and job deletes segfaulted
the process within seconds on a 2-core machine. Each test checks every thread's results,
not only that the process survived.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.cloud import bigquery

from shared.adapters.bigquery.emulator import EmbeddedBigQuery
from shared.bootstrap.embedded import EmbeddedRuntime
from shared.config.settings import Settings
from shared.demo.cloud import run_cloud_demo
from shared.demo.genai import ingest_sample_genai
from shared.demo.subscriptions import sample_subscription_plans
from shared.domain.focus import COST_TABLE
from shared.domain.quota import SubscriptionStatus
from shared.domain.saas_subscriptions import PLANS_COLUMNS, PLANS_TABLE
from shared.domain.sql import table_ref
from shared.entrypoints.cli.follow import run_and_wait
from shared.handlers import backfill
from shared.handlers.onboarding import create_org, ensure_org_dataset
from shared.handlers.services import Services

pytestmark = [pytest.mark.warehouse, pytest.mark.slow]

PROJECT = "stress-test"
WORKERS = 8
ROUNDS = 12
ROWS = 300  # > one tabledata.list page of 100: every read takes several requests
_KEPT_PER_LOAD = ROWS - sum(1 for i in range(ROWS) if i % 28 == 0)  # the script deletes day 1


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bigquery.Client]:
    with EmbeddedBigQuery(tmp_path_factory.mktemp("stress"), PROJECT) as bq:
        client = bq.client()
        client.create_dataset(f"{PROJECT}.stress")
        yield client


_NDJSON = "".join(
    json.dumps({"day": f"2026-01-{1 + i % 28:02d}", "cost": float(i)}) + "\n" for i in range(ROWS)
).encode()
_LOAD = bigquery.LoadJobConfig(
    source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
    schema=[bigquery.SchemaField("day", "DATE"), bigquery.SchemaField("cost", "FLOAT64")],
)


# Once stop begins, requests are refused (503) then cut: give up fast, don't retry 10 min.
_BRIEF = bigquery.DEFAULT_RETRY.with_timeout(2.0)


def _worker(client: bigquery.Client, worker: int) -> int:
    """Load, rewrite, page through and clean up one table; return the rows it saw."""
    table = f"{PROJECT}.stress.w{worker}_{uuid.uuid4().hex[:6]}"
    client.create_table(bigquery.Table(table, schema=_LOAD.schema))
    seen = 0
    for round_ in range(ROUNDS):
        load = client.load_table_from_file(io.BytesIO(_NDJSON), table, job_config=_LOAD)
        load.result()
        client.query(
            f"BEGIN TRANSACTION; DELETE FROM `{table}` WHERE day = DATE '2026-01-01'; "
            f"UPDATE `{table}` SET cost = cost + 1 WHERE day = DATE '2026-01-02'; "
            "COMMIT TRANSACTION;"
        ).result()
        paged = sum(1 for _ in client.list_rows(table, page_size=100))
        counted = next(iter(client.query(f"SELECT COUNT(*) AS n FROM `{table}`").result()))
        assert paged == counted["n"] == (round_ + 1) * _KEPT_PER_LOAD, (worker, round_)
        seen += paged
        client.delete_job_metadata(load.job_id, location=load.location)
    client.delete_table(table)
    return seen


def _expected_rows() -> int:
    return sum((r + 1) * _KEPT_PER_LOAD for r in range(ROUNDS))


def _hammer(work: Callable[[int], int]) -> list[int]:
    start = threading.Barrier(WORKERS)

    def run(worker: int) -> int:
        start.wait()
        return work(worker)

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(run, range(WORKERS)))


def test_concurrent_loads_scripts_paged_reads_and_job_deletes(warehouse: bigquery.Client) -> None:
    seen = _hammer(lambda worker: _worker(warehouse, worker))
    assert seen == [_expected_rows()] * WORKERS


def test_stop_while_requests_are_in_flight_leaves_a_reopenable_warehouse(
    tmp_path: Path,
) -> None:
    bq = EmbeddedBigQuery(tmp_path, PROJECT)
    bq.start()
    client = bq.client()
    client.create_dataset(f"{PROJECT}.kept")
    client.query(f"CREATE TABLE `{PROJECT}.kept.t` AS SELECT 1 AS x").result()
    stop_now = threading.Event()

    def reads() -> int:
        done = 0
        while not stop_now.is_set():
            try:
                job = client.query(
                    f"SELECT * FROM `{PROJECT}.kept.t`", retry=_BRIEF, job_retry=None
                )
                list(job.result(retry=_BRIEF))
                done += 1
            except Exception:
                return done
        return done

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(reads) for _ in range(4)]
        threading.Event().wait(1.0)
        bq.stop()
        stop_now.set()
        assert sum(f.result() for f in futures) > 0
    with EmbeddedBigQuery(tmp_path, PROJECT) as again:
        rows = list(again.client().query(f"SELECT x FROM `{PROJECT}.kept.t`").result())
        assert [r["x"] for r in rows] == [1]


MONTH = date(2026, 11, 1)
MONTH_END = date(2026, 11, 30)
BACKFILL_DAYS = 8
ROUNDS_OF_RUNS = 2  # the second round rewrites every slice while the same mix runs


def _backfill(services: Services, org: str, reprocess: str) -> int:
    """`pipelines backfill --max-concurrent 4`, as its command drives it."""
    found = services.store.get_org(org)
    assert found is not None
    body = {
        "start_date": MONTH.isoformat(),
        "end_date": (MONTH + timedelta(days=BACKFILL_DAYS - 1)).isoformat(),
        "max_concurrent": 4,
        "reprocess": reprocess,
    }
    current = backfill.start_backfill(
        services, found, "subscription", "costs", "subscription_cost", body
    )
    while not current.done:
        threading.Event().wait(0.1)
        current = backfill.advance(services, org, current.backfill.backfill_id)
    counts = current.counts()
    return 0 if counts["completed"] == BACKFILL_DAYS else 1


def _subscription_days(services: Services, org: str) -> list[tuple[Any, ...]]:
    dataset = services.settings.org_dataset(org)
    rows = services.warehouse.query(
        "SELECT DATE(ChargePeriodStart) AS day, COUNT(*) AS n, SUM(BilledCost) AS cost,"
        " COUNT(DISTINCT x_run_id) AS runs"
        f" FROM {table_ref(services.warehouse.project_id, dataset, COST_TABLE)}"
        " WHERE x_pipeline_id = 'subscription_cost' AND ChargePeriodStart < TIMESTAMP(@end)"
        " GROUP BY day ORDER BY day",
        {"end": (MONTH + timedelta(days=BACKFILL_DAYS)).isoformat()},
    )
    return [(r["day"], r["n"], r["cost"], r["runs"]) for r in rows]


def test_pipelines_and_a_backfill_at_once_on_the_embedded_runtime(tmp_path: Path) -> None:
    """What a user's API server sees: a 4-wide backfill in one org while another org runs
    the subscription, OpenAI, Anthropic, GCP and AWS pipelines, on a runtime that
    starts its own embedded warehouse (no shared test emulator)."""
    settings = Settings(
        home=tmp_path,
        env="test",
        project_id="stress-runtime",
        runtime="embedded",
        files_root=tmp_path,
    )
    with EmbeddedRuntime(settings) as runtime:
        services = runtime.services
        for org in ("stress_a", "stress_b"):
            create_org(services, org, name=org, plan="scale", status=SubscriptionStatus.ACTIVE)
            dataset = ensure_org_dataset(services, org)
            plans = sample_subscription_plans("same_plans", MONTH)
            services.warehouse.load_rows(dataset, PLANS_TABLE, PLANS_COLUMNS, plans)
        for round_ in range(ROUNDS_OF_RUNS):
            work: dict[str, Callable[[], int]] = {
                "backfill": lambda: _backfill(services, "stress_a", "all"),
                "subscription": lambda: run_and_wait(
                    services,
                    "stress_b",
                    "subscription",
                    "costs",
                    "subscription_cost",
                    MONTH,
                    MONTH_END,
                    {},
                ),
                "genai": lambda: ingest_sample_genai(services, "stress_b", MONTH, MONTH_END),
                "cloud": lambda: run_cloud_demo(services, "stress_b", MONTH),
            }
            with ThreadPoolExecutor(len(work)) as pool:
                futures = {name: pool.submit(job) for name, job in work.items()}
                statuses = {name: future.result() for name, future in futures.items()}
            assert statuses == dict.fromkeys(work, 0), (round_, statuses)
            backfilled = _subscription_days(services, "stress_a")
            monthly = _subscription_days(services, "stress_b")
            # One run per backfilled day, one monthly run: the same rows and cost per day,
            # each slice written exactly once (no duplicate, no partial slice).
            assert len(backfilled) == BACKFILL_DAYS
            assert [d[:3] for d in backfilled] == [d[:3] for d in monthly]
            assert {d[3] for d in backfilled} == {d[3] for d in monthly} == {1}
