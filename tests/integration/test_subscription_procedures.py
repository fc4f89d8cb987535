"""The SaaS subscription procedures on the embedded BigQuery, for the demo org's plans.

One dataset is built per module (tables, procedures, plans; both procedures called for
March 2025); tests read it. Tests that change data use their own keys or datasets.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from google.cloud import bigquery

from shared.adapters.bigquery.warehouse import BigQueryWarehouse
from shared.demo.subscriptions import sample_subscription_plans
from shared.domain import saas_subscriptions as subs
from shared.domain.errors import BadRequest
from shared.domain.focus import COST_TABLE, COST_TABLE_COLUMNS, LINEAGE_COLUMN_NAMES
from shared.domain.sql import literal, table_ref
from shared.handlers.procedures import procedure_file
from tests.warehouse_fixtures import PROJECT_ID

pytestmark = pytest.mark.warehouse

ORG = "acme"
MARCH = (date(2025, 3, 1), date(2025, 3, 31))
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Org:
    warehouse: BigQueryWarehouse
    dataset: str

    def ref(self, table: str) -> str:
        return table_ref(PROJECT_ID, self.dataset, table)

    def call(
        self,
        procedure: str,
        start: date,
        end: date,
        *,
        credential: str = "cred-1",
        run_id: str = "run-1",
    ) -> None:
        args = (ORG, start, end, "saas-costs", credential, run_id)
        self.warehouse.run_script(
            f"CALL {self.ref(procedure)}({', '.join(literal(a) for a in args)})"
        )

    def run_both(self, start: date, end: date, **kwargs: str) -> None:
        self.call(subs.SP_CALCULATE_DAILY_COSTS, start, end, **kwargs)
        self.call(subs.SP_CONVERT_TO_FOCUS, start, end, **kwargs)

    def query(self, sql: str) -> list[dict[str, Any]]:
        return self.warehouse.query(sql)


def build_org(client: bigquery.Client, plans: list[dict[str, Any]]) -> Org:
    """A new dataset with the three tables, both procedures and ``plans`` loaded."""
    warehouse = BigQueryWarehouse(client, PROJECT_ID)
    dataset = f"org_{uuid.uuid4().hex[:12]}"
    warehouse.ensure_dataset(dataset)
    # Tables through the API: the emulator types NUMERIC columns made by SQL DDL as
    # DECIMAL(18,3), which would round costs to 3 decimals.
    warehouse.ensure_table(dataset, subs.PLANS_TABLE, subs.PLANS_COLUMNS)
    warehouse.ensure_table(dataset, subs.DAILY_COSTS_TABLE, subs.DAILY_COSTS_COLUMNS)
    warehouse.ensure_table(dataset, COST_TABLE, COST_TABLE_COLUMNS)
    for procedure in (subs.SP_CALCULATE_DAILY_COSTS, subs.SP_CONVERT_TO_FOCUS):
        # as the executor deploys it: with the fragments the file names
        sql = procedure_file(f"subscription/{procedure}.sql").render(PROJECT_ID, dataset)
        warehouse.run_script(sql)
    warehouse.load_rows(dataset, subs.PLANS_TABLE, subs.PLANS_COLUMNS, plans)
    return Org(warehouse, dataset)


@pytest.fixture(scope="module")
def org(bq_client: bigquery.Client) -> Iterator[Org]:
    org = build_org(bq_client, sample_subscription_plans(ORG, MARCH[0]))
    org.run_both(*MARCH)
    yield org
    bq_client.delete_dataset(f"{PROJECT_ID}.{org.dataset}", delete_contents=True)


def daily(org: Org, name: str) -> list[dict[str, Any]]:
    return org.query(
        f"SELECT * FROM {org.ref(subs.DAILY_COSTS_TABLE)} "
        f"WHERE subscription_id = 'sub-{ORG}-{name}' ORDER BY cost_date"
    )


def total(rows: list[dict[str, Any]], field: str = "daily_cost") -> Decimal:
    return sum((r[field] for r in rows), Decimal(0))


def month_totals(org: Org) -> dict[str, tuple[int, Decimal]]:
    rows = org.query(
        f"SELECT subscription_id, COUNT(*) AS n, SUM(daily_cost) AS cost "
        f"FROM {org.ref(subs.DAILY_COSTS_TABLE)} GROUP BY subscription_id"
    )
    return {r["subscription_id"]: (r["n"], r["cost"]) for r in rows}


# -- sp_subscription_2_calculate_daily_costs ---------------------------------------------
@pytest.mark.parametrize(
    ("name", "monthly_price"),
    [("slack", Decimal("600")), ("datadog", Decimal("1800")), ("personio", Decimal("890"))],
)
def test_a_full_month_adds_up_to_the_monthly_price(
    org: Org, name: str, monthly_price: Decimal
) -> None:
    rows = daily(org, name)
    assert [r["cost_date"] for r in rows] == [MARCH[0] + timedelta(days=i) for i in range(31)]
    # Exact, not just to the cent: the per-day shares are differences of running totals.
    assert total(rows) == monthly_price
    assert total(rows, "list_cost") == monthly_price


def test_per_seat_price_is_times_seats_less_the_discount(org: Org) -> None:
    rows = daily(org, "notion")  # 60 seats x 15.00, 20 % off
    assert {(r["quantity"], r["discount_pct"]) for r in rows} == {(60, Decimal(20))}
    assert total(rows, "list_cost") == Decimal("900")
    assert total(rows) == Decimal("720")


def test_a_plan_starting_mid_month_is_prorated(org: Org) -> None:
    rows = daily(org, "linear")  # from the 10th, 20 seats x 14.00
    assert rows[0]["cost_date"] == date(2025, 3, 10)
    assert len(rows) == 22
    assert total(rows).quantize(CENT) == (Decimal(280) * 22 / 31).quantize(CENT)


def test_a_plan_ending_mid_month_stops_after_its_last_day(org: Org) -> None:
    rows = daily(org, "zoom")  # cancelled, last paid day the 15th, 25 seats x 21.99
    assert rows[-1]["cost_date"] == date(2025, 3, 15)
    assert len(rows) == 15
    assert total(rows).quantize(CENT) == (Decimal("549.75") * 15 / 31).quantize(CENT)


def test_an_annual_plan_costs_its_price_over_365_a_day(org: Org) -> None:
    rows = daily(org, "github")  # 35 seats x 252.00 a year; 2025 has 365 days
    per_day = Decimal(35 * 252) / 365
    assert {r["period_start"] for r in rows} == {date(2025, 1, 1)}
    assert {r["period_days"] for r in rows} == {365}
    assert all(abs(r["daily_cost"] - per_day) <= Decimal("1e-9") for r in rows)
    assert total(rows).quantize(CENT) == (per_day * 31).quantize(CENT)


def test_a_trial_costs_nothing(org: Org) -> None:
    assert daily(org, "cursor") == []
    assert len(month_totals(org)) == 11


def test_rows_carry_the_lineage(org: Org) -> None:
    rows = org.query(f"SELECT * FROM {org.ref(subs.DAILY_COSTS_TABLE)}")
    assert all(r[name] is not None for r in rows for name in LINEAGE_COLUMN_NAMES)
    assert all(r["x_pipeline_run_date"] == r["cost_date"] for r in rows)
    assert {(r["x_org_slug"], r["x_source_system"], r["x_run_id"]) for r in rows} == {
        (ORG, "subscription", "run-1")
    }


# -- sp_subscription_3_convert_to_focus --------------------------------------------------
def test_focus_rows_mirror_the_daily_costs(org: Org) -> None:
    focus = org.query(
        f"SELECT BillingCurrency AS currency, COUNT(*) AS n, SUM(BilledCost) AS billed, "
        f"SUM(EffectiveCost) AS effective, SUM(ListCost) AS list "
        f"FROM {org.ref(COST_TABLE)} GROUP BY BillingCurrency"
    )
    costs = org.query(
        f"SELECT currency, COUNT(*) AS n, SUM(daily_cost) AS cost, SUM(list_cost) AS list "
        f"FROM {org.ref(subs.DAILY_COSTS_TABLE)} GROUP BY currency"
    )
    expected = {c["currency"]: (c["n"], c["cost"], c["cost"]) for c in costs}
    assert set(expected) == {"USD", "EUR"}
    assert {f["currency"]: (f["n"], f["billed"], f["effective"]) for f in focus} == expected
    assert expected["EUR"][1].quantize(CENT) == Decimal("890.00")
    # ListCost is the day's list unit price (rounded to the nano) x seats: the month's list
    # total is the daily shares' to well under a cent.
    list_totals = {c["currency"]: c["list"] for c in costs}
    for f in focus:
        assert abs(f["list"] - list_totals[f["currency"]]) < Decimal("0.00001"), f


def test_focus_periods_are_utc_days_and_calendar_months_with_exclusive_ends(org: Org) -> None:
    rows = org.query(f"SELECT * FROM {org.ref(COST_TABLE)}")
    assert rows
    for row in rows:
        day = row["x_pipeline_run_date"]
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        assert row["ChargePeriodStart"] == start
        assert row["ChargePeriodEnd"] == start + timedelta(days=1)
        assert row["BillingPeriodStart"] == datetime(2025, 3, 1, tzinfo=UTC)
        assert row["BillingPeriodEnd"] == datetime(2025, 4, 1, tzinfo=UTC)


def test_focus_rows_describe_a_saas_purchase(org: Org) -> None:
    rows = org.query(
        f"SELECT * FROM {org.ref(COST_TABLE)} WHERE ResourceId = 'sub-{ORG}-jira' LIMIT 1"
    )
    row = rows[0]
    expected = {
        "ChargeCategory": "Purchase",
        "ChargeFrequency": "Recurring",
        "PricingCategory": "Standard",
        "PricingUnit": "Seat-Days",
        "PricingQuantity": Decimal(40),
        "ServiceName": "Jira",
        "ServiceProviderName": "Atlassian",
        "HostProviderName": "Atlassian",
        "ProviderName": "Atlassian",
        "PublisherName": "Atlassian",
        "InvoiceIssuerName": "Atlassian",
        "ServiceCategory": "Developer Tools",
        "ServiceSubcategory": "Other (Developer Tools)",
        "SkuId": "Atlassian:Standard",
        "BillingAccountId": ORG,
        "SubAccountId": "cc-engineering",
        "SubAccountType": "Team",
        "ResourceType": "Subscription",
        "Tags": {"team": "engineering", "vendor": "jira"},
        "x_source_system": "subscription",
    }
    assert {name: row[name] for name in expected} == expected
    # Not metered, no commitment, no allocation: units are null exactly when quantities are.
    assert row["ConsumedQuantity"] is None
    assert row["ConsumedUnit"] is None
    assert row["CommitmentDiscountId"] is None
    assert row["ContractApplied"] is None
    assert abs(row["ListUnitPrice"] * row["PricingQuantity"] - row["ListCost"]) < Decimal("1e-7")
    assert all(row[name] is not None for name in LINEAGE_COLUMN_NAMES)


# -- idempotency -------------------------------------------------------------------------
def test_rerunning_the_same_range_leaves_the_same_rows(org: Org) -> None:
    focus_totals = f"SELECT COUNT(*) AS n, SUM(BilledCost) AS s FROM {org.ref(COST_TABLE)}"
    before, focus_before = month_totals(org), org.query(focus_totals)

    org.run_both(*MARCH, run_id="run-2")

    assert month_totals(org) == before
    assert org.query(focus_totals) == focus_before
    run_ids = org.query(f"SELECT DISTINCT x_run_id FROM {org.ref(COST_TABLE)}")
    assert run_ids == [{"x_run_id": "run-2"}]


def test_another_credentials_slice_is_left_alone(org: Org) -> None:
    before = month_totals(org)
    org.run_both(date(2025, 3, 5), date(2025, 3, 6), credential="cred-2")
    try:
        rows = org.query(
            f"SELECT x_credential_id, COUNT(*) AS n FROM {org.ref(COST_TABLE)} "
            f"GROUP BY x_credential_id ORDER BY x_credential_id"
        )
        # cred-1 keeps its whole month; cred-2 has the 10 plans billed on the 5th and 6th
        # (Linear only starts on the 10th).
        assert rows == [
            {"x_credential_id": "cred-1", "n": sum(n for n, _ in before.values())},
            {"x_credential_id": "cred-2", "n": 2 * 10},
        ]
    finally:
        for table in (subs.DAILY_COSTS_TABLE, COST_TABLE):
            org.warehouse.run_script(
                f"DELETE FROM {org.ref(table)} WHERE x_credential_id = 'cred-2'"
            )


# -- errors ------------------------------------------------------------------------------
def test_a_plan_that_cannot_be_priced_fails_the_call(bq_client: bigquery.Client) -> None:
    plans = sample_subscription_plans(ORG, MARCH[0])
    plans[3]["billing_cycle"] = "weekly"
    org = build_org(bq_client, plans)
    try:
        with pytest.raises(BadRequest, match=f"cannot be priced.*sub-{ORG}-notion"):
            org.call(subs.SP_CALCULATE_DAILY_COSTS, *MARCH)
        with pytest.raises(BadRequest, match="p_start_date must not be after p_end_date"):
            org.call(subs.SP_CONVERT_TO_FOCUS, MARCH[1], MARCH[0])
        assert org.query(f"SELECT COUNT(*) AS n FROM {org.ref(subs.DAILY_COSTS_TABLE)}") == [
            {"n": 0}
        ]
    finally:
        bq_client.delete_dataset(f"{PROJECT_ID}.{org.dataset}", delete_contents=True)
