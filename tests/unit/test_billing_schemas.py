"""Telling a billing file's layout from its header, and accounting for every row read."""

from __future__ import annotations

from datetime import date

import pytest

from shared.domain.billing_schemas import (
    UnknownSchema,
    aws_variants,
    focus_variants,
    plan_columns,
    snake,
)
from shared.domain.cloud_billing import (
    AWS_CUR_COLUMNS,
    AWS_REQUIRED,
    FOCUS_EXPORT_COLUMNS,
    FOCUS_EXPORT_REQUIRED,
)
from shared.domain.focus import FOCUS_ADDED_IN
from shared.domain.row_accounting import RowTally

AWS = aws_variants([c.name for c in AWS_CUR_COLUMNS], AWS_REQUIRED)
_REQUIRED_CUR2 = [
    "line_item_usage_start_date",
    "line_item_line_item_type",
    "line_item_unblended_cost",
    "line_item_currency_code",
]


@pytest.mark.parametrize(
    ("legacy", "cur2"),
    [
        ("UsageStartDate", "usage_start_date"),
        ("ReservationARN", "reservation_a_r_n"),
        ("productFamily", "product_family"),
        ("servicecode", "servicecode"),
    ],
)
def test_snake_spells_legacy_names_as_cur2(legacy: str, cur2: str) -> None:
    assert snake(legacy) == cur2


def test_cur2_header_is_cur2_even_though_athena_would_map_it() -> None:
    plan = plan_columns([*_REQUIRED_CUR2, "resource_tags", "product"], AWS, provider="AWS")
    assert plan.variant == "AWS CUR 2.0 (Data Exports)"
    assert plan.targets["resource_tags"] == ("resource_tags", None)


def test_athena_names_put_tags_and_product_attributes_in_the_maps() -> None:
    header = [*_REQUIRED_CUR2, "product_product_name", "resource_tags_user_team", "product_sku"]
    plan = plan_columns(header, AWS, provider="AWS")
    assert plan.variant == "AWS legacy CUR, Athena column names (Parquet)"
    assert plan.targets["product_product_name"] == ("product", "product_name")
    assert plan.targets["resource_tags_user_team"] == ("resource_tags", "user_team")
    assert plan.targets["product_sku"] == ("product_sku", None)  # a CUR 2.0 column of its own


def test_slash_names_map_to_cur2_columns_keys_and_skip_the_rest() -> None:
    header = [
        "lineItem/UsageStartDate",
        "lineItem/LineItemType",
        "lineItem/UnblendedCost",
        "lineItem/CurrencyCode",
        "reservation/ReservationARN",
        "product/ProductName",
        "resourceTags/user:cost-center",
        "lineItem/BlendedCost",  # a legacy column the conversion does not use
    ]
    plan = plan_columns(header, AWS, provider="AWS")
    assert plan.variant == "AWS legacy CUR, category/Name column names (CSV)"
    assert plan.targets == {
        "lineItem/UsageStartDate": ("line_item_usage_start_date", None),
        "lineItem/LineItemType": ("line_item_line_item_type", None),
        "lineItem/UnblendedCost": ("line_item_unblended_cost", None),
        "lineItem/CurrencyCode": ("line_item_currency_code", None),
        "reservation/ReservationARN": ("reservation_reservation_a_r_n", None),
        "product/ProductName": ("product", "product_name"),
        "resourceTags/user:cost-center": ("resource_tags", "user_cost-center"),
    }


def test_unknown_header_names_accepted_variants_and_what_the_closest_lacks() -> None:
    header = ["lineItem/UsageStartDate", "lineItem/LineItemType", "lineItem/CurrencyCode"]
    with pytest.raises(UnknownSchema) as caught:
        plan_columns(header, AWS, provider="AWS")
    message = str(caught.value)
    assert "accepted: AWS CUR 2.0 (Data Exports); AWS legacy CUR, Athena" in message
    assert message.endswith(
        "closest: AWS legacy CUR, category/Name column names (CSV), which lacks"
        " lineItem/UnblendedCost"
    )


def test_a_header_of_nothing_we_know_fails() -> None:
    with pytest.raises(
        UnknownSchema,
        match="Athena column names \\(Parquet\\), which lacks line_item_usage_start_date, ",
    ):
        plan_columns(["date", "amount"], AWS, provider="AWS")


def test_tally_counts_each_row_once_by_where_its_day_falls() -> None:
    tally = RowTally(date(2026, 10, 1), date(2026, 10, 2))
    for day in (date(2026, 10, 1), date(2026, 10, 2), date(2026, 9, 30), date(2026, 9, 30)):
        tally.count(day, "a.csv", 1)
    tally.count(None, "b.csv", 7)
    tally.count(None, "b.csv", 9)
    assert (tally.read, tally.in_window, tally.undated) == (6, 2, 2)
    assert tally.first_undated == ("b.csv", 7)
    assert tally.outside_summary() == (
        "2 rows outside the window 2026-10-01..2026-10-02 (2026-09-30: 2)"
    )
    assert tally.metrics()["days_outside_window"] == {"2026-09-30": 2}


def test_tally_names_ten_days_and_counts_the_rest() -> None:
    tally = RowTally(date(2026, 10, 1), date(2026, 10, 1))
    for offset in range(12):
        tally.count(date(2026, 9, 1 + offset), "a.csv", offset)
    summary = tally.outside_summary()
    assert summary.startswith("12 rows outside the window 2026-10-01..2026-10-01 (2026-09-01: 1")
    assert summary.endswith("2026-09-10: 1, and 2 more days)")
    assert RowTally(date(2026, 10, 1), date(2026, 10, 1)).outside_summary() == ""


FOCUS = focus_variants(
    [c.name for c in FOCUS_EXPORT_COLUMNS], FOCUS_ADDED_IN, FOCUS_EXPORT_REQUIRED
)
_FOCUS_BASE = [
    "ChargePeriodStart",
    "BilledCost",
    "BillingCurrency",
    "ChargeCategory",
    "x_Operation",
]


@pytest.mark.parametrize(
    ("added", "version"),
    [
        ([], "1.0"),
        (["SkuMeter"], "1.1"),
        (["SkuMeter", "InvoiceId"], "1.2"),
        (["InvoiceId", "HostProviderName"], "1.3"),
    ],
)
def test_a_focus_exports_version_is_the_newest_whose_columns_it_has(
    added: list[str], version: str
) -> None:
    plan = plan_columns([*_FOCUS_BASE, *added], FOCUS, provider="FOCUS")
    assert plan.variant == f"FOCUS {version} export"
    assert "x_Operation" not in plan.targets  # provider columns are passed over
