"""Run the FOCUS rules (shared.domain.focus_rules) against an org's FOCUS table.

All row rules go in one ``COUNTIF`` query (one scan); each group rule is one GROUP BY
query; a rule with violations gets one more query for a few sample rows. Every query is
scoped to the org (``x_org_slug``) and, optionally, a range of ``x_pipeline_run_date``
and one ``x_source_system``; the table reference comes from validated identifiers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.domain.focus import COST_TABLE
from shared.domain.focus_rules import GROUP_RULES, ROW_RULES, GroupRule, RowRule
from shared.domain.sql import table_ref, validate_org_slug
from shared.ports import Warehouse

SAMPLE_ROWS = 3


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule_id: str
    description: str
    violations: int
    samples: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FocusReport:
    rows_checked: int
    results: list[RuleResult]

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.results if r.violations]

    @property
    def ok(self) -> bool:
        return not self.failed


def check_focus(
    warehouse: Warehouse,
    dataset: str,
    org_slug: str,
    *,
    start: date | None = None,
    end: date | None = None,
    source_system: str | None = None,
    table: str = COST_TABLE,
) -> FocusReport:
    target = table_ref(warehouse.project_id, dataset, table)
    where, params = focus_scope(validate_org_slug(org_slug), start, end, source_system)
    counts = ", ".join(
        f"COUNTIF(IFNULL({rule.violation}, FALSE)) AS r{i}" for i, rule in enumerate(ROW_RULES)
    )
    row = warehouse.query(f"SELECT COUNT(*) AS n, {counts} FROM {target} WHERE {where}", params)[0]
    results: list[RuleResult] = []
    for i, rule in enumerate(ROW_RULES):
        violations = int(row[f"r{i}"] or 0)
        samples = _row_samples(warehouse, target, where, params, rule) if violations else []
        results.append(RuleResult(rule.rule_id, rule.description, violations, samples))
    for group_rule in GROUP_RULES:
        groups = _bad_groups(warehouse, target, where, params, group_rule)
        results.append(
            RuleResult(
                group_rule.rule_id, group_rule.description, len(groups), groups[:SAMPLE_ROWS]
            )
        )
    return FocusReport(rows_checked=int(row["n"]), results=results)


def focus_scope(
    org_slug: str, start: date | None, end: date | None, source_system: str | None
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause and parameters of an org's FOCUS rows, optionally by day and source."""
    clauses: list[str] = ["x_org_slug = @org"]
    params: dict[str, Any] = {"org": org_slug}
    if start is not None:
        clauses.append("x_pipeline_run_date >= @start")
        params["start"] = start
    if end is not None:
        clauses.append("x_pipeline_run_date <= @end")
        params["end"] = end
    if source_system is not None:
        clauses.append("x_source_system = @source")
        params["source"] = source_system
    return " AND ".join(clauses), params


def _row_samples(
    warehouse: Warehouse, target: str, where: str, params: dict[str, Any], rule: RowRule
) -> list[dict[str, Any]]:
    columns: Sequence[str] = ("x_source_system", "ServiceName", *rule.columns)
    listing = ", ".join(dict.fromkeys(columns))
    return warehouse.query(
        f"SELECT {listing} FROM {target} WHERE {where} AND IFNULL({rule.violation}, FALSE)"
        f" LIMIT {SAMPLE_ROWS}",
        params,
    )


def _bad_groups(
    warehouse: Warehouse, target: str, where: str, params: dict[str, Any], rule: GroupRule
) -> list[dict[str, Any]]:
    keys = ", ".join(rule.group_by)
    return warehouse.query(
        f"SELECT {keys}, COUNT(*) AS n_rows FROM {target} WHERE {where}"
        f" GROUP BY {keys} HAVING {rule.having} ORDER BY {keys}",
        params,
    )
