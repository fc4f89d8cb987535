"""The pure mapping from runs, schedules and deliveries to the BigQuery meta rows
(shared/domain/meta.py), and its agreement with the MERGE files in procedures/meta/."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from shared.adapters.bigquery.sql_files import PROCEDURES_DIR, render_sql
from shared.domain import meta
from shared.domain.models import Run, StepRun
from shared.domain.notifications import Delivery, DeliveryStatus, EventType
from shared.domain.schedules import Schedule
from shared.domain.states import RunStatus, StepStatus

T0 = datetime(2026, 10, 2, 6, 0, tzinfo=UTC)
SQL_DIR = PROCEDURES_DIR / "meta"


def _succeeded(step_id: str, start_s: int, end_s: int, rows: int) -> StepRun:
    """A step of run-1 that ran from T0 + start_s to T0 + end_s and wrote ``rows``."""
    return StepRun(
        "run-1",
        step_id,
        StepStatus.SUCCEEDED,
        attempt=1,
        started_at=T0 + timedelta(seconds=start_s),
        finished_at=T0 + timedelta(seconds=end_s),
        rows_written=rows,
    )


def _run(**changes: object) -> Run:
    run = Run(
        run_id="run-1",
        org_slug="acme",
        pipeline_ref="genai/payg/openai",
        pipeline_id="genai_payg_openai",
        provider="openai",
        status=RunStatus.COMPLETED,
        trigger="schedule",
        start_date=date(2026, 10, 1),
        end_date=date(2026, 10, 1),
        credential_id="cred-1",
        parameters={"window": "day", "a": 1},
        created_at=T0,
        started_at=T0 + timedelta(seconds=1),
        finished_at=T0 + timedelta(seconds=30),
        error=None,
        steps={
            "extract": _succeeded("extract", 2, 20, 120),
            "transform": _succeeded("transform", 21, 29, 7),
        },
    )
    return dataclasses.replace(run, **changes)  # type: ignore[arg-type]


def _schedule(**changes: object) -> Schedule:
    schedule = Schedule(
        schedule_id="sch_1",
        org_slug="acme",
        pipeline_ref="genai/payg/openai",
        cron="0 6 * * *",
        enabled=True,
        parameters={"b": 2, "a": 1},
        created_at=T0,
        updated_at=T0 + timedelta(hours=1),
        next_fire_at=T0 + timedelta(days=1),
        last_fire_at=T0,
        last_run_id="run-1",
    )
    return dataclasses.replace(schedule, **changes)  # type: ignore[arg-type]


def _delivery(**changes: object) -> Delivery:
    delivery = Delivery(
        org_slug="acme",
        event=EventType.PIPELINE_FAILURE,
        channel="slack",
        target="https://hooks.slack.com/…",
        run_id="run-1",
        trigger_key="PIPELINE_FAILURE:genai/payg/openai:",
        status=DeliveryStatus.SENT,
        attempts=2,
        error=None,
        at=T0 + timedelta(minutes=5),
    )
    return dataclasses.replace(delivery, **changes)  # type: ignore[arg-type]


def test_a_run_row_carries_the_contract_fields_from_the_run() -> None:
    row = meta.run_row(_run())
    assert row == {
        "run_id": "run-1",
        "org_slug": "acme",
        "provider": "openai",  # the vendor, as the clients filter by it
        "domain": "payg",
        "pipeline": "openai",
        "status": "completed",
        "started_at": T0 + timedelta(seconds=1),
        "completed_at": T0 + timedelta(seconds=30),
        "records_processed": 127,  # every step's rows
        "error_message": None,
        "parameters": '{"a":1,"window":"day"}',
        "created_by": "schedule",
        "created_at": T0,
        "updated_at": T0 + timedelta(seconds=30),
        "pipeline_id": "genai_payg_openai",
        "progress": 1.0,
    }
    assert [c.name for c in meta.RUN_COLUMNS] == list(row)


def test_a_failed_run_row_has_its_error_and_its_partial_progress() -> None:
    steps = _run().steps
    steps["transform"] = dataclasses.replace(
        steps["transform"], status=StepStatus.PENDING, started_at=None, finished_at=None
    )
    row = meta.run_row(_run(status=RunStatus.RUNNING, finished_at=None, steps=steps))
    assert (row["status"], row["completed_at"], row["progress"]) == ("running", None, 0.5)
    assert row["updated_at"] == T0 + timedelta(seconds=20)  # the latest step time
    failed = meta.run_row(_run(status=RunStatus.FAILED, error="genai.openai_admin: 401"))
    assert failed["error_message"] == "genai.openai_admin: 401"


def test_a_later_status_outranks_a_newer_timestamp_and_ties_go_to_the_later_time() -> None:
    processing = meta.run_row(
        _run(status=RunStatus.PROCESSING, finished_at=T0 + timedelta(hours=1))
    )
    completed = meta.run_row(_run())
    assert meta.run_version(processing) < meta.run_version(completed)
    later = meta.run_row(_run(finished_at=T0 + timedelta(minutes=2)))
    assert meta.run_version(completed) < meta.run_version(later)
    for terminal in (RunStatus.FAILED, RunStatus.CANCELLED):
        assert meta.RUN_STATUS_RANK[terminal] == meta.RUN_STATUS_RANK[RunStatus.COMPLETED]
    assert list(meta.RUN_STATUS_RANK) == list(RunStatus)  # every status is ranked


def test_a_schedule_row_uses_the_clients_names() -> None:
    row = meta.schedule_row(_schedule(), provider="openai")
    assert row == {
        "schedule_id": "sch_1",
        "org_slug": "acme",
        "provider": "openai",
        "domain": "payg",
        "pipeline": "openai",
        "cron_expression": "0 6 * * *",
        "is_enabled": True,
        "last_run_at": T0,
        "next_run_at": T0 + timedelta(days=1),
        "parameters": '{"a":1,"b":2}',
        "created_at": T0,
        "updated_at": T0 + timedelta(hours=1),
    }
    assert [c.name for c in meta.SCHEDULE_COLUMNS] == list(row)
    disabled = meta.schedule_row(_schedule(enabled=False, next_fire_at=None), "openai")
    assert (disabled["is_enabled"], disabled["next_run_at"]) == (False, None)


def test_schedule_versions_order_changes_then_firings() -> None:
    base = meta.schedule_row(_schedule(), "openai")
    fired = meta.schedule_row(_schedule(last_fire_at=T0 + timedelta(days=1)), "openai")
    changed = meta.schedule_row(_schedule(updated_at=T0 + timedelta(hours=2)), "openai")
    never = meta.schedule_row(_schedule(last_fire_at=None), "openai")
    assert meta.schedule_version(never) < meta.schedule_version(base)
    assert meta.schedule_version(base) < meta.schedule_version(fired)
    assert meta.schedule_version(fired) < meta.schedule_version(changed)


def test_a_delivery_row_and_its_stable_key() -> None:
    delivery = _delivery()
    row = meta.delivery_row(delivery)
    assert [c.name for c in meta.HISTORY_COLUMNS] == list(row)
    assert row["delivery_key"] == meta.delivery_key(delivery)
    assert re.fullmatch(r"[0-9a-f]{32}", row["delivery_key"])
    assert (row["event"], row["status"], row["created_at"]) == (
        "PIPELINE_FAILURE",
        "sent",
        delivery.at,
    )
    # The same record read back (another timezone for the same instant): the same key.
    same_instant = delivery.at.astimezone(timezone(timedelta(hours=2)))
    assert meta.delivery_key(_delivery(at=same_instant)) == row["delivery_key"]
    # Anything that makes it another delivery gives another key.
    others = [
        _delivery(channel="email"),
        _delivery(run_id="run-2"),
        _delivery(status=DeliveryStatus.SUPPRESSED),
        _delivery(at=delivery.at + timedelta(microseconds=1)),
        _delivery(org_slug="other"),
        _delivery(event=EventType.STEP_FAILURE),
    ]
    assert len({meta.delivery_key(d) for d in others} | {row["delivery_key"]}) == 7


def test_parameters_are_json_text_with_sorted_keys() -> None:
    text = meta.json_text({"z": [1, 2], "a": {"d": date(2026, 10, 1)}})
    assert text == '{"a":{"d":"2026-10-01"},"z":[1,2]}'
    assert json.loads(text)["z"] == [1, 2]


def test_the_contract_columns_have_the_contract_types() -> None:
    runs = {c.name: c.type for c in meta.RUN_COLUMNS}
    assert runs["records_processed"] == "INT64"
    assert runs["parameters"] == "JSON"
    assert {runs[n] for n in ("started_at", "completed_at", "created_at")} == {"TIMESTAMP"}
    schedules = {c.name: c.type for c in meta.SCHEDULE_COLUMNS}
    assert schedules["is_enabled"] == "BOOL"
    assert {schedules[n] for n in ("last_run_at", "next_run_at", "updated_at")} == {"TIMESTAMP"}


@pytest.mark.parametrize(
    ("file", "row"),
    [
        ("merge_pipeline_run.sql", meta.run_row(_run())),
        ("merge_pipeline_schedule.sql", meta.schedule_row(_schedule(), "openai")),
        ("merge_notification_delivery.sql", meta.delivery_row(_delivery())),
    ],
)
def test_each_merge_takes_exactly_its_rows_fields(file: str, row: dict[str, object]) -> None:
    # render_sql refuses a placeholder without a value and a value without a placeholder.
    sql = render_sql(
        SQL_DIR / file, identifiers={"project_id": "proj-1", "dataset": "org_x"}, literals=row
    )
    assert sql.count("MERGE `proj-1.org_x.") == 1


def test_the_run_merge_ranks_statuses_as_the_domain_does() -> None:
    text = (SQL_DIR / "merge_pipeline_run.sql").read_text()
    [source_case, target_case] = re.findall(r"CASE (source|target)\.status(.*?)END", text, re.S)
    assert source_case[1] == target_case[1]
    ranks = {status: int(rank) for status, rank in re.findall(r"WHEN '(\w+)' THEN (\d)", text)}
    otherwise = int(re.search(r"ELSE (\d) END", text).group(1))  # type: ignore[union-attr]
    expected = {s.value: r for s, r in meta.RUN_STATUS_RANK.items()}
    assert {s: ranks.get(s, otherwise) for s in expected} == expected


def test_meta_sql_comments_hold_no_quote_characters() -> None:
    # The embedded warehouse finds string literals by scanning quotes through comments
    # too: an apostrophe in a comment shifts them and corrupts the values that follow.
    for path in sorted(SQL_DIR.glob("*.sql")):
        for line in path.read_text().splitlines():
            comment = line.partition("--")[2]
            assert not {"'", '"'} & set(comment), f"{path.name}: {line}"
