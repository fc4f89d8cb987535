"""The FOCUS rule definitions themselves: unique ids, only FOCUS columns, spec lists."""

from __future__ import annotations

import re

import duckdb
import pytest

from shared.domain.focus import FOCUS_1_3_COLUMNS
from shared.domain.focus_rules import (
    CHARGE_CATEGORIES,
    GROUP_RULES,
    ISO_4217_CODES,
    ROW_RULES,
    RULE_IDS,
    SERVICE_CATEGORIES,
)

FOCUS_NAMES = {c.name for c in FOCUS_1_3_COLUMNS}
_CAMEL = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z0-9]*)+\b")


def test_rule_ids_are_unique_and_name_a_focus_column() -> None:
    assert len(RULE_IDS) == len(set(RULE_IDS))
    for rule_id in RULE_IDS:
        column = rule_id.split(".")[0]
        assert column in FOCUS_NAMES or column in {"ChargePeriod", "BillingPeriod"}, rule_id


def test_rules_mention_only_focus_columns() -> None:
    for rule in ROW_RULES:
        text = re.sub(r"'[^']*'", "''", rule.violation)  # drop string constants
        assert set(_CAMEL.findall(text)) <= FOCUS_NAMES, rule.rule_id
        assert set(rule.columns) <= FOCUS_NAMES, rule.rule_id
    for group in GROUP_RULES:
        assert set(group.group_by) <= FOCUS_NAMES


def test_spec_value_lists() -> None:
    assert CHARGE_CATEGORIES == ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
    assert len(SERVICE_CATEGORIES) == 19
    assert {"USD", "EUR", "JPY", "GBP", "INR"} <= ISO_4217_CODES
    assert all(re.fullmatch(r"[A-Z]{3}", code) for code in ISO_4217_CODES)


# The conditional-column rules, evaluated on rows by DuckDB (the expressions use only
# IF/IFNULL/IN/IS NULL, which DuckDB shares with GoogleSQL): (rule id, row, violates?).
_ROW_CASES: list[tuple[str, dict[str, str | None], bool]] = [
    ("CapacityReservationStatus.WithReservationId", {}, False),
    ("CapacityReservationStatus.WithReservationId", {"CapacityReservationStatus": "Used"}, True),
    (
        "CapacityReservationStatus.WithReservationId",
        {"CapacityReservationId": "cr-1", "ChargeCategory": "Usage"},
        True,
    ),
    (
        "CapacityReservationStatus.WithReservationId",
        {
            "CapacityReservationId": "cr-1",
            "ChargeCategory": "Usage",
            "CapacityReservationStatus": "Unused",
        },
        False,
    ),
    (
        "CapacityReservationStatus.WithReservationId",
        {"CapacityReservationId": "cr-1", "ChargeCategory": "Purchase"},
        False,
    ),
    ("CommitmentDiscountQuantity.CommitmentRowsOnly", {"ChargeCategory": "Usage"}, False),
    (
        "CommitmentDiscountQuantity.CommitmentRowsOnly",
        {"ChargeCategory": "Usage", "SkuPriceId": "p", "CommitmentDiscountQuantity": "1"},
        True,
    ),
    (
        "CommitmentDiscountQuantity.CommitmentRowsOnly",
        {
            "ChargeCategory": "Usage",
            "CommitmentDiscountId": "ri",
            "CommitmentDiscountQuantity": "1",
        },
        True,
    ),
    (
        "CommitmentDiscountQuantity.CommitmentRowsOnly",
        {
            "ChargeCategory": "Credit",
            "CommitmentDiscountId": "ri",
            "SkuPriceId": "p",
            "CommitmentDiscountQuantity": "1",
        },
        True,
    ),
    (
        "CommitmentDiscountQuantity.CommitmentRowsOnly",
        {
            "ChargeCategory": "Purchase",
            "CommitmentDiscountId": "ri",
            "SkuPriceId": "p",
            "CommitmentDiscountQuantity": "1",
        },
        False,
    ),
    ("CommitmentDiscountUnit.NullIffQuantityNull", {"CommitmentDiscountUnit": "Hour"}, True),
    ("CommitmentDiscountUnit.NullIffQuantityNull", {"CommitmentDiscountQuantity": "1"}, True),
    (
        "CommitmentDiscountUnit.NullIffQuantityNull",
        {"CommitmentDiscountQuantity": "1", "CommitmentDiscountUnit": "USD"},
        False,
    ),
    ("ResourceType.NullWithoutResourceId", {"ResourceType": "ec2:instance"}, True),
    ("ResourceType.NullWithoutResourceId", {"ResourceId": "i-1", "ResourceType": "x"}, False),
    ("ResourceType.NullWithoutResourceId", {"ResourceId": "i-1"}, False),
]

_CASE_COLUMNS = (
    "ChargeCategory",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "CommitmentDiscountId",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountUnit",
    "SkuPriceId",
    "ResourceId",
    "ResourceType",
)


@pytest.mark.parametrize(("rule_id", "row", "violates"), _ROW_CASES)
def test_conditional_column_rules(rule_id: str, row: dict[str, str | None], violates: bool) -> None:
    rule = next(r for r in ROW_RULES if r.rule_id == rule_id)
    values = ", ".join("NULL" if row.get(c) is None else f"'{row[c]}'" for c in _CASE_COLUMNS)
    columns = ", ".join(_CASE_COLUMNS)
    # CommitmentDiscountQuantity is a Decimal column: cast the literal so IS NULL tests match.
    sql = (
        f"SELECT IFNULL({rule.violation}, FALSE) FROM (SELECT * REPLACE ("
        "CAST(CommitmentDiscountQuantity AS DECIMAL(18, 3)) AS CommitmentDiscountQuantity)"
        f" FROM (VALUES ({values})) AS t({columns}))"
    )
    assert duckdb.sql(sql).fetchone() == (violates,)


def test_commitment_unit_group_rule() -> None:
    rule = next(g for g in GROUP_RULES if g.rule_id == "CommitmentDiscountUnit.OnePerCommitment")
    rows = "('sp-1', 'USD'), ('sp-1', 'USD'), ('sp-1', NULL), ('ri-1', 'Hour'), ('ri-1', 'USD'),"
    rows += " (NULL, 'USD'), (NULL, 'Hour')"
    keys = ", ".join(rule.group_by)
    sql = (
        f"SELECT {keys} FROM (VALUES {rows}) AS t(CommitmentDiscountId, CommitmentDiscountUnit)"
        f" GROUP BY {keys} HAVING {rule.having}"
    )
    assert duckdb.sql(sql).fetchall() == [("ri-1",)]
