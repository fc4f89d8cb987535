"""The older layouts customers' billing files come in, each converted with every row
accounted for: AWS legacy CUR (slash-named CSV, gzip CSV, Athena-named Parquet, with and
without the commitment groups) gives the same FOCUS rows as CUR 2.0; Azure cost details in
camelCase the same as in PascalCase; Azure's version-1 usage export in either casing
reconciles. A file that is no layout we read, or has a bad value, fails naming file, line
and column and leaves FOCUS as it was."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.aws_sample import write_sample_cur
from shared.demo.azure_sample import write_sample_export
from shared.demo.gcp_sample import load_sample_export
from shared.demo.oci_sample import write_sample_report
from shared.domain.models import Run
from shared.domain.notifications import EventType, PipelineEvent
from shared.domain.states import RunStatus, StepStatus
from shared.handlers.focus_check import check_focus
from tests.support.aws_legacy_cur import COMMITMENT_GROUPS, write_legacy_cur
from tests.support.azure_variants import write_camel_cost_details, write_v1_usage_export
from tests.support.billing_runs import (
    CUR_ORDER,
    assert_focus_clean_and_reconciled,
    assert_same_rows,
    focus_rows,
    mutate_csv,
    run_billing,
)
from tests.support.focus_exports import version_columns, write_focus_export
from tests.support.gcp_export_files import export_rows, write_export_file
from tests.support.runtime import make_runtime, new_org

pytestmark = pytest.mark.warehouse

START, END, DAYS = date(2026, 10, 1), date(2026, 10, 2), 2
# CUR 2.0 only: the legacy report has no account-name columns.
_CUR2_ONLY = ("BillingAccountName", "SubAccountName")
_CHARGE_ORDER = "ChargePeriodStart, ChargeDescription, BilledCost, EffectiveCost, ResourceId"


def _org(rt: EmbeddedRuntime, slug: str, provider: str) -> str:
    """A new org with a (test) credential for ``provider``; its slug."""
    new_org(rt, slug, credentials=(provider,))
    return slug


def _run(rt: EmbeddedRuntime, slug: str, uri: str, start: date = START, end: date = END) -> Run:
    return run_billing(rt, slug, "aws", {"cur_uri": uri}, start, end)


def _focus(rt: EmbeddedRuntime, slug: str) -> list[dict[str, Any]]:
    return focus_rows(rt, slug, CUR_ORDER, leave_out=_CUR2_ONLY)


def _assert_billed(focus: list[dict[str, Any]], source: Iterable[tuple[date, str, float]]) -> None:
    """FOCUS BilledCost per usage day and currency equals the source rows' cost."""
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for day, currency, cost in source:
        expected[(day.isoformat(), currency)] += Decimal(str(cost))
    billed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in focus:
        billed[(str(r["x_pipeline_run_date"]), r["BillingCurrency"])] += r["BilledCost"]
    assert billed.keys() == expected.keys()
    for key, total in expected.items():
        assert abs(billed[key] - total) < Decimal("1e-6"), key


@pytest.fixture(scope="module")
def cur2_focus(tmp_path_factory: pytest.TempPathFactory, session_warehouse: Any) -> Any:
    """The FOCUS rows of the sample delivered as CUR 2.0: what every legacy layout must give."""
    home = tmp_path_factory.mktemp("cur2")
    with make_runtime(home, warehouse=session_warehouse) as rt:
        new_org(rt, "aws_cur2_ref", credentials=("aws",))
        write_sample_cur(home / "cur.parquet", START, DAYS)
        assert _run(rt, "aws_cur2_ref", str(home / "cur.parquet")).status is RunStatus.COMPLETED
        return _focus(rt, "aws_cur2_ref")


@pytest.mark.parametrize(
    ("name", "layout"),
    [
        ("cur.csv", "AWS legacy CUR, category/Name column names (CSV)"),
        ("cur.csv.gz", "AWS legacy CUR, category/Name column names (CSV)"),
        ("cur.parquet", "AWS legacy CUR, Athena column names (Parquet)"),
    ],
)
def test_legacy_cur_converts_like_cur2(
    runtime: EmbeddedRuntime, tmp_path: Path, cur2_focus: Any, name: str, layout: str
) -> None:
    slug = _org(runtime, "aws_legacy_" + name.replace(".", "_"), "aws")
    rows = write_legacy_cur(tmp_path / "legacy" / name, START, DAYS)
    run = _run(runtime, slug, str(tmp_path / "legacy"))
    assert run.status is RunStatus.COMPLETED, run.error
    load = run.steps["load_cur"]
    assert load.metrics["layouts"] == {layout: 1}
    assert load.metrics["rows_read"] == load.metrics["rows_in_window"] == len(rows)
    assert load.rows_written == run.steps["convert_to_focus"].rows_written == len(rows)

    assert_same_rows(_focus(runtime, slug), cur2_focus)  # tags, product, commitments too
    assert_focus_clean_and_reconciled(runtime, slug)


def test_legacy_cur_without_commitment_groups_converts(
    runtime: EmbeddedRuntime, tmp_path: Path
) -> None:
    """An account with no RIs, Savings Plans or pricing columns: its report lacks the groups."""
    slug = _org(runtime, "aws_legacy_plain", "aws")
    rows = write_legacy_cur(tmp_path / "cur.csv", START, DAYS, without=COMMITMENT_GROUPS)
    run = _run(runtime, slug, str(tmp_path / "cur.csv"))
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.steps["convert_to_focus"].rows_written == len(rows)
    focus = _focus(runtime, slug)
    assert {r["CommitmentDiscountId"] for r in focus} == {None}
    _assert_billed(
        focus,
        (
            (
                r["lineItem/UsageStartDate"].date(),
                r["lineItem/CurrencyCode"],
                r["lineItem/UnblendedCost"],
            )
            for r in rows
        ),
    )
    report = check_focus(runtime.warehouse, runtime.settings.org_dataset(slug), slug)
    assert report.ok, [(r.rule_id, r.samples) for r in report.failed]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (
            "lineItem/UnblendedCost",
            None,
            "cur.csv: columns match no AWS billing layout this service reads (accepted: AWS"
            " CUR 2.0 (Data Exports); AWS legacy CUR, Athena column names (Parquet); AWS legacy"
            " CUR, category/Name column names (CSV)); closest: AWS legacy CUR, category/Name"
            " column names (CSV), which lacks lineItem/UnblendedCost",
        ),
        (
            "lineItem/UsageStartDate",
            "yesterday",
            "cur.csv: line 2: lineItem/UsageStartDate (read as line_item_usage_start_date)",
        ),
        (
            "lineItem/UnblendedCost",
            "12..5",
            "cur.csv: line 2: lineItem/UnblendedCost (read as line_item_unblended_cost)",
        ),
    ],
)
def test_a_broken_legacy_file_fails_naming_file_line_and_column(
    runtime: EmbeddedRuntime, tmp_path: Path, column: str, value: str | None, message: str
) -> None:
    slug = _org(runtime, "aws_legacy_broken", "aws")
    _assert_a_broken_copy_fails(
        lambda path: _run(runtime, slug, str(path)),
        lambda path: write_legacy_cur(path, START, DAYS),
        lambda: _focus(runtime, slug),
        tmp_path / "cur.csv",
        (column, value),
        "load_cur",
        message,
    )


def _assert_a_broken_copy_fails(
    run: Callable[[Path], Run],
    write: Callable[[Path], object],
    focus: Callable[[], list[dict[str, Any]]],
    file: Path,
    mutation: tuple[str, str | None],
    load_step: str,
    message: str,
) -> list[dict[str, Any]]:
    """A good file (``write`` at ``file``'s name) converts; a copy with ``mutation`` (column,
    new first-row value or None to drop it) fails its load step with ``message`` and leaves
    the FOCUS rows as the good run wrote them (returned)."""
    good, broken = file.parent / "good" / file.name, file.parent / "broken" / file.name
    for path in (good, broken):
        write(path)
    first = run(good)
    assert first.status is RunStatus.COMPLETED, first.error
    before = focus()
    mutate_csv(broken, *mutation)
    failed = run(broken)
    assert failed.status is RunStatus.FAILED
    error = failed.steps[load_step].error or ""
    assert message in error, error
    assert failed.steps["convert_to_focus"].status is not StepStatus.SUCCEEDED
    assert focus() == before
    return before


def test_a_file_wholly_outside_the_window_completes_with_a_warning(
    runtime: EmbeddedRuntime, tmp_path: Path
) -> None:
    slug = _org(runtime, "aws_legacy_elsewhere", "aws")
    rows = write_legacy_cur(tmp_path / "cur.csv", date(2026, 9, 10), DAYS)
    sent: list[PipelineEvent] = []
    runtime.services.events = _Recorder(sent)
    run = _run(runtime, slug, str(tmp_path / "cur.csv"))
    assert run.status is RunStatus.COMPLETED, run.error
    load = run.steps["load_cur"]
    assert load.rows_written == 0
    assert load.metrics["rows_read"] == load.metrics["rows_outside_window"] == len(rows)
    assert set(load.metrics["days_outside_window"]) == {"2026-09-10", "2026-09-11"}
    assert "every row read is outside the run's window" in load.metrics["warning"]
    assert "2026-09-10" in load.metrics["warning"]
    # ... and the run's status and its success notification say so
    assert run.to_public()["warnings"] == [f"load_cur: {load.metrics['warning']}"]
    success = [e for e in sent if e.event is EventType.PIPELINE_SUCCESS]
    assert [e.message for e in success] == [
        f"run completed with warnings: load_cur: {load.metrics['warning']}"
    ]


@dataclass
class _Recorder:
    """An event sink that keeps what the run emits."""

    sent: list[PipelineEvent]

    def emit(self, event: PipelineEvent) -> None:
        self.sent.append(event)


# -- Azure -------------------------------------------------------------------------------
def _run_azure(rt: EmbeddedRuntime, slug: str, uri: Path) -> Run:
    if rt.services.store.get_org(slug) is None:
        new_org(rt, slug, credentials=("azure",))
    return run_billing(rt, slug, "azure", {"export_uri": str(uri)}, START, END)


def test_camel_case_cost_details_convert_like_pascal_case(
    runtime: EmbeddedRuntime, tmp_path: Path
) -> None:
    count = write_sample_export(tmp_path / "pascal.csv", START, DAYS, flavour="mca")
    assert _run_azure(runtime, "az_pascal", tmp_path / "pascal.csv").status is RunStatus.COMPLETED
    assert write_camel_cost_details(tmp_path / "camel.csv", START, DAYS) == count
    run = _run_azure(runtime, "az_camel", tmp_path / "camel.csv")
    assert run.status is RunStatus.COMPLETED, run.error
    load = run.steps["load_cost_details"]
    assert load.metrics["layouts"] == {"Azure cost details (EA/MCA), camelCase": 1}
    assert load.metrics["rows_read"] == load.rows_written == count
    assert_same_rows(
        focus_rows(runtime, "az_camel", _CHARGE_ORDER),
        focus_rows(runtime, "az_pascal", _CHARGE_ORDER),
    )
    assert_focus_clean_and_reconciled(runtime, "az_camel")


@pytest.mark.parametrize("camel", [False, True], ids=["PascalCase", "camelCase"])
def test_version_1_usage_export_converts_every_row_and_reconciles(
    runtime: EmbeddedRuntime, tmp_path: Path, camel: bool
) -> None:
    slug = "az_v1_camel" if camel else "az_v1_pascal"
    rows = write_v1_usage_export(tmp_path / "usage.csv", START, DAYS, camel=camel)
    run = _run_azure(runtime, slug, tmp_path / "usage.csv")
    assert run.status is RunStatus.COMPLETED, run.error
    load = run.steps["load_cost_details"]
    casing = "camelCase" if camel else "PascalCase"
    assert load.metrics["layouts"] == {f"Azure usage export version 1, {casing}": 1}
    assert load.metrics["rows_read"] == load.metrics["rows_in_window"] == len(rows)
    assert run.steps["convert_to_focus"].rows_written == len(rows)

    focus = focus_rows(runtime, slug, _CHARGE_ORDER)
    assert {r["ChargeCategory"] for r in focus} == {"Usage"}
    assert {(r["BillingAccountId"], r["BillingAccountType"]) for r in focus} == {
        ("5c0ffee0-0000-4000-8000-000000000001", "Subscription")
    }
    _assert_billed(
        focus, ((r["Date"], r["BillingCurrency"], r["CostInBillingCurrency"]) for r in rows)
    )
    vm = next(r for r in focus if r["ResourceName"] == "web-1")
    assert vm["ResourceType"] == "Microsoft.Compute/virtualMachines"
    assert vm["Tags"] == {"team": "web", "env": "prod"}
    assert vm["ConsumedQuantity"] == 24
    assert_focus_clean_and_reconciled(runtime, slug)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (
            "PreTaxCost",
            None,
            "usage.csv: columns match no Azure billing layout this service reads (accepted:"
            " Azure cost details (EA/MCA), PascalCase; Azure usage export version 1,"
            " PascalCase; Azure cost details (EA/MCA), camelCase; Azure usage export version"
            " 1, camelCase); closest: Azure usage export version 1, PascalCase, which lacks"
            " PreTaxCost",
        ),
        ("UsageDateTime", "13/45/2026", "usage.csv: line 2: UsageDateTime (read as Date)"),
        ("PreTaxCost", "1,2", "usage.csv: line 2: PreTaxCost (read as CostInBillingCurrency)"),
    ],
)
def test_a_broken_version_1_file_fails_naming_file_line_and_column(
    runtime: EmbeddedRuntime, tmp_path: Path, column: str, value: str | None, message: str
) -> None:
    slug = "az_v1_broken"
    _assert_a_broken_copy_fails(
        lambda path: _run_azure(runtime, slug, path),
        lambda path: write_v1_usage_export(path, START, DAYS, camel=False),
        lambda: focus_rows(runtime, slug, _CHARGE_ORDER),
        tmp_path / "usage.csv",
        (column, value),
        "load_cost_details",
        message,
    )


# -- quantities past INT64 ---------------------------------------------------------------
def _aws_file(path: Path) -> tuple[Path, str]:
    write_legacy_cur(path / "cur.csv", START, DAYS)
    return path / "cur.csv", "lineItem/UsageAmount"


def _azure_file(path: Path) -> tuple[Path, str]:
    write_v1_usage_export(path / "usage.csv", START, DAYS, camel=False)
    return path / "usage.csv", "UsageQuantity"


def _oci_file(path: Path) -> tuple[Path, str]:
    write_sample_report(path / "report.csv.gz", START, DAYS)
    return path / "report.csv.gz", "usage/billedQuantity"


@pytest.mark.parametrize(
    ("provider", "parameter", "write"),
    [
        ("aws", "cur_uri", _aws_file),
        ("azure", "export_uri", _azure_file),
        ("oci", "report_uri", _oci_file),
    ],
)
def test_a_quantity_of_1e20_converts_exactly(
    runtime: EmbeddedRuntime,
    tmp_path: Path,
    provider: str,
    parameter: str,
    write: Callable[[Path], tuple[Path, str]],
) -> None:
    """Storage byte-seconds and token counts pass INT64 (9.2e18): every digit is kept."""
    slug = f"{provider}_huge"
    new_org(runtime, slug, credentials=(provider,))
    path, column = write(tmp_path)
    mutate_csv(path, column, "1e20")
    run = run_billing(runtime, slug, provider, {parameter: str(path)}, START, END)
    assert run.status is RunStatus.COMPLETED, run.error
    quantities = {r["ConsumedQuantity"] for r in focus_rows(runtime, slug, "BilledCost")}
    assert Decimal(10**20) in quantities
    assert_focus_clean_and_reconciled(runtime, slug)


# -- providers' own FOCUS exports ---------------------------------------------------------
@pytest.mark.parametrize(
    ("version", "name"),
    [("1.0", "focus.csv.gz"), ("1.2", "focus.parquet"), ("1.2", "focus.csv"), ("1.3", "focus.csv")],
)
def test_a_providers_focus_export_comes_to_focus_1_3_unchanged(
    runtime: EmbeddedRuntime, tmp_path: Path, cur2_focus: Any, version: str, name: str
) -> None:
    """AWS's FOCUS export of the sample (its rows as our CUR 2.0 conversion gives them,
    written with only the columns of ``version``) converts back to the same FOCUS 1.3 rows:
    every column the export has, and 1.3's provider columns derived from 1.0's."""
    slug = _org(
        runtime, "aws_focus_" + version.replace(".", "_") + "_" + name.split(".")[-1], "aws"
    )
    header = write_focus_export(tmp_path / name, cur2_focus, version)
    uri = {"focus_uri": str(tmp_path / name)}
    run = run_billing(runtime, slug, "aws", uri, START, END, pipeline="focus")
    assert run.status is RunStatus.COMPLETED, run.error
    load = run.steps["load_focus_export"]
    assert load.metrics["layouts"] == {f"FOCUS {version} export": 1}
    assert load.metrics["rows_read"] == load.rows_written == len(cur2_focus)

    kept = {*version_columns(version), "ServiceProviderName", "HostProviderName"}
    kept &= set(cur2_focus[0])
    got = focus_rows(runtime, slug, "BilledCost")
    assert_same_rows(_canonical(got, kept), _canonical(cur2_focus, kept))
    assert {r["x_source_system"] for r in got} == {"aws"}
    assert header[-1].startswith("x_")  # the provider's own columns were passed over
    assert_focus_clean_and_reconciled(runtime, slug)


def _canonical(rows: list[dict[str, Any]], columns: set[str]) -> list[dict[str, Any]]:
    """The rows' ``columns``, in one order whatever the rows' own."""
    kept = [{k: r[k] for k in sorted(columns)} for r in rows]
    return sorted(kept, key=lambda r: json.dumps(r, sort_keys=True, default=str))


@pytest.mark.parametrize(
    ("provider", "column", "value", "message"),
    [
        ("azure", "BilledCost", "12..5", "focus.csv: line 2: BilledCost: not a number: '12..5'"),
        ("oci", "ChargePeriodStart", "soon", "focus.csv: line 2: ChargePeriodStart: not a date"),
        (
            "oci",
            "BillingCurrency",
            None,
            "focus.csv: columns match no FOCUS billing layout this service reads (accepted:"
            " FOCUS 1.3 export; FOCUS 1.2 export; FOCUS 1.1 export; FOCUS 1.0 export); closest:"
            " FOCUS 1.2 export, which lacks BillingCurrency",
        ),
    ],
)
def test_a_broken_focus_export_fails_naming_file_line_and_column(
    runtime: EmbeddedRuntime,
    tmp_path: Path,
    cur2_focus: Any,
    provider: str,
    column: str,
    value: str | None,
    message: str,
) -> None:
    slug = f"{provider}_focus_broken"
    if runtime.services.store.get_org(slug) is None:
        new_org(runtime, slug, credentials=(provider,))
    before = _assert_a_broken_copy_fails(
        lambda path: run_billing(
            runtime, slug, provider, {"focus_uri": str(path)}, START, END, pipeline="focus"
        ),
        lambda path: write_focus_export(path, cur2_focus, "1.2", extra=()),
        lambda: focus_rows(runtime, slug, _CHARGE_ORDER),
        tmp_path / "focus.csv",
        (column, value),
        "load_focus_export",
        message,
    )
    assert {r["x_source_system"] for r in before} == {provider}


# -- GCP billing export rows as files -----------------------------------------------------
_GCP_TABLE = "gcp_billing_export_resource_v1_TEST"


@pytest.fixture(scope="module")
def gcp_table_focus(tmp_path_factory: pytest.TempPathFactory, session_warehouse: Any) -> Any:
    """The FOCUS rows of the sample read from a billing export table: what the files give."""
    with make_runtime(tmp_path_factory.mktemp("gcp"), warehouse=session_warehouse) as rt:
        slug = "gcp_table_ref"
        new_org(rt, slug, credentials=("gcp",))
        source = f"{slug}_billing_src"
        load_sample_export(rt.warehouse, source, _GCP_TABLE, START, DAYS)
        params = {
            "source_project": rt.warehouse.project_id,
            "source_dataset": source,
            "source_table": _GCP_TABLE,
        }
        assert run_billing(rt, slug, "gcp", params, START, END).status is RunStatus.COMPLETED
        return focus_rows(rt, slug, "BilledCost", leave_out=("x_pipeline_id",))


@pytest.mark.parametrize("name", ["export.json", "export.parquet", "export.avro"])
def test_gcp_export_files_convert_like_the_export_table(
    runtime: EmbeddedRuntime, tmp_path: Path, gcp_table_focus: Any, name: str
) -> None:
    slug = _org(runtime, "gcp_files_" + name.split(".")[-1], "gcp")
    rows = export_rows(START, DAYS)
    write_export_file(tmp_path / "files" / name, rows)
    uri = {"export_uri": str(tmp_path / "files")}
    run = run_billing(runtime, slug, "gcp", uri, START, END, pipeline="files")
    assert run.status is RunStatus.COMPLETED, run.error
    load = run.steps["load_export_files"]
    assert load.metrics["layouts"] == {"GCP detailed usage cost export": 1}
    assert load.metrics["rows_read"] == len(rows)
    assert load.rows_written == run.steps["convert_to_focus"].rows_written > 0
    got = focus_rows(runtime, slug, "BilledCost", leave_out=("x_pipeline_id",))
    assert_same_rows(_canonical(got, set(got[0])), _canonical(gcp_table_focus, set(got[0])))
    assert_focus_clean_and_reconciled(runtime, slug)


def test_gcp_export_files_count_out_other_days_and_refuse_unknown_files(
    runtime: EmbeddedRuntime, tmp_path: Path
) -> None:
    slug = _org(runtime, "gcp_files_other", "gcp")
    rows = export_rows(START, DAYS)
    write_export_file(tmp_path / "files" / "export.json", rows)
    uri = {"export_uri": str(tmp_path / "files")}
    run = run_billing(runtime, slug, "gcp", uri, START, START, pipeline="files")  # day 1
    assert run.status is RunStatus.COMPLETED, run.error
    load = run.steps["load_export_files"]
    day_two = sum(1 for r in rows if r["usage_start_time"].startswith(str(END)))
    assert load.metrics["days_outside_window"] == {str(END): day_two}
    assert load.metrics["rows_in_window"] + day_two == load.metrics["rows_read"] == len(rows)
    assert load.rows_written == load.metrics["rows_in_window"]
    # A run over day 2 takes day 1 too: its late-exported rows reopen it, as from a table.
    late = run_billing(runtime, slug, "gcp", uri, END, END, pipeline="files")
    assert late.steps["load_export_files"].metrics["late_days_reopened"] == [str(START)]
    assert late.steps["load_export_files"].rows_written == len(rows)

    other = tmp_path / "other" / "export.json"
    other.parent.mkdir()
    other.write_text(json.dumps({"date": "2026-10-01", "amount": 3}) + "\n")
    failed = run_billing(
        runtime, slug, "gcp", {"export_uri": str(other)}, START, END, pipeline="files"
    )
    assert failed.status is RunStatus.FAILED
    error = failed.steps["load_export_files"].error or ""
    assert "export.json: columns match no GCP billing layout" in error, error
    assert "which lacks usage_start_time, cost, currency" in error, error


def test_a_bad_value_in_a_gcp_export_file_fails_naming_the_file_and_writes_nothing(
    runtime: EmbeddedRuntime, tmp_path: Path
) -> None:
    slug = _org(runtime, "gcp_files_bad", "gcp")
    rows = export_rows(START, DAYS)
    rows[1] = {**rows[1], "cost": "twelve"}
    write_export_file(tmp_path / "bad.json", rows)
    run = run_billing(
        runtime,
        slug,
        "gcp",
        {"export_uri": str(tmp_path / "bad.json")},
        START,
        END,
        pipeline="files",
    )
    assert run.status is RunStatus.FAILED
    error = run.steps["load_export_files"].error or ""
    assert "bad.json: " in error, error
    # The warehouse's own words: the emulator names the line and value (BigQuery also the
    # field).
    assert "line 2" in error, error
    assert '"twelve"' in error, error
    assert focus_rows(runtime, slug, "BilledCost") == []
