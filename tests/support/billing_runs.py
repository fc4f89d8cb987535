"""Running a cloud billing pipeline on the embedded runtime and reading what it wrote."""

from __future__ import annotations

import csv
import gzip
import tempfile
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.focus import COST_TABLE
from shared.domain.models import Run
from shared.handlers.focus_check import check_focus
from shared.handlers.reconciliation import reconciliation_rows
from tests.support.focus_toolkit import assert_toolkit_accepts
from tests.support.runtime import org_table, run_to_end

# Lineage that differs between two runs of the same rows.
RUN_LINEAGE = ("x_run_id", "x_ingested_at", "x_ingestion_date", "x_org_slug", "x_credential_id")
# An order of the FOCUS rows of an AWS CUR run.
CUR_ORDER = (
    "BillingCurrency, ChargePeriodStart, SkuMeter, ChargeCategory, BilledCost, EffectiveCost,"
    " ChargeDescription"
)


def run_billing(
    rt: EmbeddedRuntime,
    slug: str,
    provider: str,
    parameters: Mapping[str, str],
    start: date,
    end: date,
    *,
    pipeline: str = "billing",
) -> Run:
    """Dispatch ``{provider}/cost/{pipeline}`` for the org and wait for the run to finish."""
    return run_to_end(rt, slug, f"{provider}/cost/{pipeline}", start, end, parameters)


def focus_rows(
    rt: EmbeddedRuntime,
    slug: str,
    order: str,
    leave_out: Sequence[str] = (),
    *,
    lineage: Sequence[str] = RUN_LINEAGE,
) -> list[dict[str, Any]]:
    """The org's FOCUS rows without ``lineage`` (and ``leave_out``), in ``order``."""
    ref = org_table(rt, slug, COST_TABLE)
    return rt.warehouse.query(
        f"SELECT * EXCEPT ({', '.join([*lineage, *leave_out])}) FROM {ref} ORDER BY {order}"
    )


def assert_same_rows(got: Sequence[Mapping[str, Any]], want: Sequence[Mapping[str, Any]]) -> None:
    """Equal row for row; a failure names the columns that differ, with examples."""
    assert len(got) == len(want), (len(got), len(want))
    differing = sorted({k for a, b in zip(got, want, strict=True) for k in a if a[k] != b.get(k)})
    pairs = zip(got, want, strict=True)
    examples = [(k, a[k], b.get(k)) for a, b in pairs for k in differing if a[k] != b.get(k)]
    assert not differing, examples[:6]


def mutate_csv(path: Path, column: str, value: str | None) -> None:
    """Drop ``column`` (value None) or set it to ``value`` on the first data row (plain or
    gzip CSV)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", newline="") as handle:
        lines = list(csv.reader(handle))
    at = lines[0].index(column)
    for number, cells in enumerate(lines):
        if value is None:
            del cells[at]
        elif number == 1:
            cells[at] = value
    with opener(path, "wt", newline="") as handle:
        csv.writer(handle).writerows(lines)


def assert_focus_clean_and_reconciled(rt: EmbeddedRuntime, slug: str) -> None:
    """Our FOCUS checker and the external one (focus-data-toolkit) pass on the org's rows,
    and every day/currency reconciles."""
    dataset = rt.settings.org_dataset(slug)
    report = check_focus(rt.warehouse, dataset, slug)
    assert report.ok, [(r.rule_id, r.samples) for r in report.failed]
    with tempfile.TemporaryDirectory(prefix="focus-toolkit-") as workdir:
        assert_toolkit_accepts(rt, slug, Path(workdir))
    recon = reconciliation_rows(rt.warehouse, dataset, slug)
    assert recon
    assert all(r["ok"] for r in recon), recon
