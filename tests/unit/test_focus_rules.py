"""The FOCUS rule definitions themselves: unique ids, only FOCUS columns, spec lists."""

from __future__ import annotations

import re

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
