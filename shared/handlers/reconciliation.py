"""Reading the reconciliation table: source vs FOCUS totals per day and billing currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from shared.domain.cloud_billing import RECONCILIATION_TABLE, RECONCILIATION_TOLERANCE
from shared.domain.sql import table_ref
from shared.ports import Warehouse

TOLERANCE = Decimal(RECONCILIATION_TOLERANCE)
_FIGURES = (
    "source_billed_cost",
    "focus_billed_cost",
    "source_effective_cost",
    "focus_effective_cost",
)


def reconciliation_rows(
    warehouse: Warehouse,
    dataset: str,
    org_slug: str,
    *,
    start: date | None = None,
    end: date | None = None,
    run_id: str | None = None,
) -> list[dict[str, Any]]:
    """Rows ordered by day, source, currency; each with its differences and ``ok``."""
    clauses, params = ["x_org_slug = @org"], {"org": org_slug}
    for clause, name, value in (
        ("x_pipeline_run_date >= @start", "start", start),
        ("x_pipeline_run_date <= @end", "end", end),
        ("x_run_id = @run", "run", run_id),
    ):
        if value is not None:
            clauses.append(clause)
            params[name] = value  # type: ignore[assignment]
    table = table_ref(warehouse.project_id, dataset, RECONCILIATION_TABLE)
    rows = warehouse.query(
        "SELECT x_pipeline_run_date AS day, x_source_system AS source, x_pipeline_id AS pipeline,"
        " billing_currency AS currency, source_rows, focus_rows, "
        + ", ".join(_FIGURES)
        + f", x_run_id AS run_id FROM {table}"
        f" WHERE {' AND '.join(clauses)} ORDER BY day, source, pipeline, currency",
        params,
    )
    for row in rows:
        for name in _FIGURES:
            row[name] = Decimal(row[name] if row[name] is not None else 0)
        row["billed_diff"] = row["focus_billed_cost"] - row["source_billed_cost"]
        row["effective_diff"] = row["focus_effective_cost"] - row["source_effective_cost"]
        row["ok"] = abs(row["billed_diff"]) <= TOLERANCE and abs(row["effective_diff"]) <= TOLERANCE
    return rows
