"""The FOCUS checker on real pipeline output (must be clean) and on deliberately bad rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.subscriptions import sample_subscription_plans
from shared.domain.focus import COST_TABLE, COST_TABLE_COLUMNS
from shared.domain.focus_rules import RULE_IDS
from shared.domain.saas_subscriptions import PLANS_COLUMNS, PLANS_TABLE
from shared.domain.states import RunStatus
from shared.handlers.dispatch import RunRequest, dispatch_run
from shared.handlers.focus_check import check_focus
from tests.support.focus_rows import good_row
from tests.support.runtime import new_org

pytestmark = pytest.mark.warehouse


TAX: dict[str, Any] = {
    "ChargeCategory": "Tax",
    "ChargeFrequency": "One-Time",
    "ConsumedQuantity": None,
    "ConsumedUnit": None,
}
# Both unit prices of good_row's 3 units at its costs' rates (ListCost 1.5 at 0.5).
PRICED: dict[str, Any] = {
    "ListUnitPrice": Decimal("0.5"),
    "ListCost": Decimal("1.5"),
    "ContractedUnitPrice": Decimal("0.5"),
}

# rule id -> the override that breaks exactly that rule
BREAKS: dict[str, dict[str, Any]] = {
    "BilledCost.NotNull": {"BilledCost": None},
    "ServiceProviderName.NotNull": {"ServiceProviderName": None},
    "ChargeCategory.AllowedValues": {
        "ChargeCategory": "usage",
        "ConsumedQuantity": None,
        "ConsumedUnit": None,
    },
    "ChargeClass.AllowedValues": {"ChargeClass": "Refund"},
    "ChargeFrequency.AllowedValues": {"ChargeFrequency": "Monthly"},
    "ChargeFrequency.PurchaseNotUsageBased": {
        "ChargeCategory": "Purchase",
        "ConsumedQuantity": None,
        "ConsumedUnit": None,
    },
    "PricingCategory.AllowedValues": {"PricingCategory": "OnDemand"},
    "PricingCategory.CommittedWithCommitment": {
        "CommitmentDiscountId": "cud-1",
        "CommitmentDiscountCategory": "Usage",
        "CommitmentDiscountStatus": "Used",
    },
    "CommitmentDiscountStatus.UsageWithCommitment": {
        "CommitmentDiscountId": "cud-2",
        "CommitmentDiscountCategory": "Usage",
        "PricingCategory": "Committed",
    },
    "CommitmentDiscountCategory.AllowedValues": {
        "CommitmentDiscountId": "cud-3",
        "CommitmentDiscountCategory": "Time",
        "CommitmentDiscountStatus": "Used",
        "PricingCategory": "Committed",
    },
    "ServiceCategory.AllowedValues": {
        "ServiceCategory": "Servers",
        "ServiceSubcategory": None,
        "ServiceName": "Odd",
    },
    "ServiceSubcategory.AllowedValues": {"ServiceSubcategory": "Object Storage"},
    "ConsumedQuantity.UsageOnly": {
        "ChargeCategory": "Tax",
        "ChargeFrequency": "One-Time",
        "PricingCategory": None,
    },
    "ChargePeriod.StartBeforeEnd": {"ChargePeriodEnd": datetime(2026, 10, 2, tzinfo=UTC)},
    "BillingPeriod.StartBeforeEnd": {"BillingPeriodEnd": datetime(2026, 9, 1, tzinfo=UTC)},
    "BillingCurrency.Iso4217": {"BillingCurrency": "XYZ"},
    "ConsumedUnit.NullIffQuantityNull": {"ConsumedUnit": None},
    "PricingUnit.NullIffQuantityNull": {"PricingQuantity": None},
    "Tags.JsonObject": {"Tags": ["env", "prod"]},
    "CapacityReservationStatus.WithReservationId": {"CapacityReservationStatus": "Used"},
    "CommitmentDiscountQuantity.CommitmentRowsOnly": {
        "CommitmentDiscountQuantity": Decimal("24"),
        "CommitmentDiscountUnit": "Hour",
    },
    "CommitmentDiscountUnit.NullIffQuantityNull": {"CommitmentDiscountUnit": "Hour"},
    "ResourceType.NullWithoutResourceId": {"ResourceId": None, "ResourceType": "ec2:instance"},
    # The rules focus-data-toolkit's lint caught on our output (issue 13).
    "BillingAccountType.NotNull": {"BillingAccountType": None},
    "ListCost.UnitPriceTimesQuantity": {"ListUnitPrice": Decimal("0.7")},  # 2.1, not 2
    "ContractedCost.UnitPriceTimesQuantity": {"ContractedUnitPrice": Decimal("0.6")},
    "ListUnitPrice.NonNegative": {"ListUnitPrice": Decimal("-0.5"), "ListCost": Decimal("-1.5")},
    "ContractedUnitPrice.NonNegative": {
        "ContractedUnitPrice": Decimal("-0.5"),
        "ContractedCost": Decimal("-1.5"),
    },
    "PricingCurrencyListUnitPrice.NonNegative": {"PricingCurrencyListUnitPrice": Decimal("-1")},
    "PricingCurrencyContractedUnitPrice.NonNegative": {
        "PricingCurrencyContractedUnitPrice": Decimal("-1")
    },
    "ListUnitPrice.WithSkuPriceId": {"SkuPriceId": "p-1", "ContractedUnitPrice": Decimal("0.5")},
    "ContractedUnitPrice.WithSkuPriceId": {
        "SkuPriceId": "p-2",
        "ListUnitPrice": Decimal("0.5"),
        "ListCost": Decimal("1.5"),
    },
    "SkuId.NullForTax": {**TAX, "PricingCategory": None, "SkuId": "TAX"},
    "SkuPriceId.NullForTax": {**TAX, "PricingCategory": None, **PRICED, "SkuPriceId": "p-3"},
    "PricingCategory.NullForTax": TAX,
    "SkuPriceDetails.NullWithoutSkuPriceId": {"SkuPriceDetails": {"x_Tier": "1"}},
    "EffectiveCost.BilledForTaxAndCredit": {
        "ChargeCategory": "Credit",
        "ChargeFrequency": "One-Time",
        "ConsumedQuantity": None,
        "ConsumedUnit": None,
        "EffectiveCost": Decimal("1"),
    },
}


def _run_subscriptions(rt: EmbeddedRuntime, slug: str) -> None:
    org, _ = new_org(rt, slug)
    rt.warehouse.load_rows(
        rt.settings.org_dataset(slug),
        PLANS_TABLE,
        PLANS_COLUMNS,
        sample_subscription_plans(slug, date(2026, 10, 1)),
    )
    run = dispatch_run(
        rt.services,
        org,
        RunRequest(
            slug,
            "subscription",
            "costs",
            "subscription_cost",
            date(2026, 10, 1),
            date(2026, 10, 31),
        ),
    )
    assert rt.bus.drain(120)
    final = rt.services.store.get_run(slug, run.run_id)
    assert final is not None
    assert final.status is RunStatus.COMPLETED, final.error


def test_subscription_output_has_no_violations_and_bad_rows_are_caught(
    runtime: EmbeddedRuntime,
) -> None:
    slug = "focus_chk"
    _run_subscriptions(runtime, slug)
    dataset = runtime.settings.org_dataset(slug)
    report = check_focus(runtime.warehouse, dataset, slug)
    assert report.rows_checked > 300
    assert report.ok, [(r.rule_id, r.samples) for r in report.failed]
    assert [r.rule_id for r in report.results] == list(RULE_IDS)

    bad = [good_row(slug, **{"ResourceId": rule, **override}) for rule, override in BREAKS.items()]
    # A second provider spelling one service two ways breaks the group rule.
    bad.append(
        good_row(
            slug,
            ServiceName="Example VMs",
            ServiceCategory="Other",
            ServiceSubcategory=None,
            ResourceId="group",
        )
    )
    runtime.warehouse.load_rows(dataset, COST_TABLE, COST_TABLE_COLUMNS, bad, replace=False)

    report = check_focus(runtime.warehouse, dataset, slug)
    failed = {r.rule_id: r for r in report.failed}
    # each broken row breaks exactly its own rule, and nothing else is flagged
    assert set(failed) == set(BREAKS) | {"ServiceName.OneServiceCategory"}
    assert {rule: failed[rule].violations for rule in BREAKS} == dict.fromkeys(BREAKS, 1)
    assert failed["ServiceName.OneServiceCategory"].samples[0]["ServiceName"] == "Example VMs"
    assert failed["BillingCurrency.Iso4217"].samples[0]["BillingCurrency"] == "XYZ"
    # scoping by source system leaves the subscription rows, still clean
    only_test = check_focus(runtime.warehouse, dataset, slug, source_system="subscription")
    assert only_test.ok
    # scoping by day excludes the bad rows (all on 2026-10-02)
    assert check_focus(runtime.warehouse, dataset, slug, start=date(2026, 10, 3)).ok
