"""The FOCUS 1.3 column model: complete, unique, with the lineage columns in order."""

from __future__ import annotations

from shared.domain.focus import (
    COST_TABLE_COLUMNS,
    FOCUS_1_3_COLUMNS,
    FOCUS_ADDED_IN,
    LINEAGE_COLUMN_NAMES,
    LINEAGE_COLUMNS,
)

NEW_IN_1_3 = set(FOCUS_ADDED_IN["1.3"])


def test_focus_1_3_has_65_unique_columns() -> None:
    names = [c.name for c in FOCUS_1_3_COLUMNS]
    assert len(names) == 65
    assert len(set(names)) == 65
    assert names == sorted(names)


def test_focus_1_3_adds_eight_columns_to_1_2_and_keeps_the_deprecated_ones() -> None:
    names = {c.name for c in FOCUS_1_3_COLUMNS}
    assert names >= NEW_IN_1_3
    assert len(names - NEW_IN_1_3) == 57
    assert {"ProviderName", "PublisherName"} <= names


def test_focus_types_follow_the_spec_data_types() -> None:
    types = {c.name: c.type for c in FOCUS_1_3_COLUMNS}
    assert {types[n] for n in ("BilledCost", "EffectiveCost", "ListCost", "PricingQuantity")} == {
        "NUMERIC"
    }
    assert {types[n] for n in ("ChargePeriodStart", "BillingPeriodEnd")} == {"TIMESTAMP"}
    json_columns = {n for n, t in types.items() if t == "JSON"}
    assert json_columns == {
        "AllocatedMethodDetails",
        "AllocatedTags",
        "ContractApplied",
        "SkuPriceDetails",
        "Tags",
    }
    assert set(types.values()) == {"STRING", "NUMERIC", "TIMESTAMP", "JSON"}


def test_lineage_columns_in_order() -> None:
    assert [(c.name, c.type) for c in LINEAGE_COLUMNS] == [
        ("x_org_slug", "STRING"),
        ("x_pipeline_id", "STRING"),
        ("x_credential_id", "STRING"),
        ("x_pipeline_run_date", "DATE"),
        ("x_run_id", "STRING"),
        ("x_ingested_at", "TIMESTAMP"),
        ("x_ingestion_date", "DATE"),
        ("x_source_system", "STRING"),
    ]
    assert tuple(c.name for c in LINEAGE_COLUMNS) == LINEAGE_COLUMN_NAMES


def test_cost_table_is_focus_then_extensions_then_lineage() -> None:
    names = [c.name for c in COST_TABLE_COLUMNS]
    assert len(names) == len(set(names))
    assert COST_TABLE_COLUMNS[:65] == FOCUS_1_3_COLUMNS
    assert COST_TABLE_COLUMNS[-len(LINEAGE_COLUMNS) :] == LINEAGE_COLUMNS
    assert all(name.startswith("x_") for name in names[65:])
