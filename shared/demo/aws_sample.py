"""Realistic AWS CUR 2.0 rows (daily granularity), written as Parquet or gzip CSV.

Two payers (USD and EUR). Per day: on-demand EC2 usage, Reserved-Instance-covered usage
(DiscountedUsage, billed 0, reservation_effective_cost) with its RIFee (unused share
amortized), Savings-Plan-covered usage with its SavingsPlanNegation and
SavingsPlanRecurringFee, Spot usage, S3, an EDP discount and tax; once per window an RI
all-upfront purchase (Fee), a promotional credit, a refund and a Marketplace charge.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from shared.domain.cloud_billing import AWS_CUR_COLUMNS, AWS_CUR_MAP_COLUMNS

# Each payer owns its commitments (their ARNs name its account); these are the USD payer's.
RI_ARN = "arn:aws:ec2:us-east-1:111122223333:reserved-instances/ri-0a1b2c3d"
SP_ARN = "arn:aws:savingsplans::111122223333:savingsplan/sp-4e5f6a7b"
_PAYERS = (("111122223333", "Acme Payer", "USD", 1.0), ("999988887777", "Acme EU", "EUR", 0.9))


def sample_cur_rows(start: date, days: int) -> Iterator[dict[str, Any]]:
    month = datetime(start.year, start.month, 1, tzinfo=UTC)
    next_month = (month + timedelta(days=32)).replace(day=1)
    serial = 0
    for payer, payer_name, currency, fx in _PAYERS:
        ri_arn, sp_arn = (arn.replace("111122223333", payer) for arn in (RI_ARN, SP_ARN))

        # Defaults bind this payer's values (the loop variables) into the helper.
        def row(
            day: datetime,
            kind: str,
            cost: float,
            payer: str = payer,
            payer_name: str = payer_name,
            currency: str = currency,
            fx: float = fx,
            **extra: Any,
        ) -> dict[str, Any]:
            nonlocal serial
            serial += 1
            base: dict[str, Any] = {
                "identity_line_item_id": f"li-{serial:08d}",
                "identity_time_interval": f"{day:%Y-%m-%d}/{day + timedelta(days=1):%Y-%m-%d}",
                "bill_bill_type": "Anniversary",
                "bill_billing_entity": "AWS",
                "bill_invoice_id": f"INV-{payer[:4]}-{month:%Y%m}",
                "bill_invoicing_entity": "Amazon Web Services, Inc.",
                "bill_payer_account_id": payer,
                "bill_payer_account_name": payer_name,
                "bill_billing_period_start_date": month,
                "bill_billing_period_end_date": next_month,
                "line_item_usage_account_id": f"{payer[:6]}000001",
                "line_item_usage_account_name": "workloads-prod",
                "line_item_line_item_type": kind,
                "line_item_usage_start_date": day,
                "line_item_usage_end_date": day + timedelta(days=1),
                "line_item_product_code": "AmazonEC2",
                "line_item_currency_code": currency,
                "line_item_unblended_cost": round(cost * fx, 8),
                "line_item_net_unblended_cost": round(cost * fx, 8),
                "line_item_legal_entity": "Amazon Web Services, Inc.",
                "product_region_code": "us-east-1",
                "product_servicecode": "AmazonEC2",
                "product": {"product_name": "Amazon Elastic Compute Cloud"},
            }
            for key, value in extra.items():
                base[key] = round(value * fx, 8) if key.endswith(("_cost", "_fee")) else value
            return base

        for offset in range(days):
            d = month.replace(day=start.day) + timedelta(days=offset)
            ec2: dict[str, Any] = {
                "line_item_usage_type": "BoxUsage:m5.large",
                "line_item_operation": "RunInstances",
                "line_item_availability_zone": "us-east-1a",
                "product_instance_type": "m5.large",
                "product_sku": "SKU-M5L",
                "product_product_family": "Compute Instance",
                "pricing_unit": "Hrs",
                "line_item_usage_amount": 24.0,
            }
            yield row(
                d,
                "Usage",
                2.304,
                **ec2,
                line_item_resource_id="i-0aaa1111",
                line_item_unblended_rate=0.096,
                pricing_term="OnDemand",
                pricing_public_on_demand_rate=0.096,
                pricing_public_on_demand_cost=2.304,
                pricing_rate_id="RATE-M5L-OD",
                pricing_purchase_option="On Demand",
                line_item_line_item_description="$0.096 per On Demand Linux m5.large Instance Hour",
                resource_tags={"user_team": "web", "user_env": "prod"},
            )
            yield row(
                d,
                "DiscountedUsage",
                0.0,
                **{**ec2, "line_item_usage_type": "BoxUsage:m5.xlarge"},
                line_item_resource_id="i-0bbb2222",
                pricing_term="Reserved",
                pricing_public_on_demand_rate=0.192,
                pricing_public_on_demand_cost=4.608,
                reservation_reservation_a_r_n=ri_arn,
                reservation_effective_cost=2.9,
                pricing_rate_id="RATE-M5XL-RI",
                pricing_purchase_option="Partial Upfront",
                line_item_line_item_description="Linux m5.xlarge reserved instance applied",
                resource_tags={"user_team": "data"},
            )
            yield row(
                d,
                "RIFee",
                3.0,
                line_item_usage_type="HeavyUsage:m5.xlarge",
                line_item_usage_amount=24.0,
                pricing_unit="Hrs",
                pricing_rate_id="RATE-M5XL-RIFEE",
                line_item_unblended_rate=0.125,
                reservation_reservation_a_r_n=ri_arn,
                reservation_unused_amortized_upfront_fee_for_billing_period=0.05,
                reservation_unused_recurring_fee=0.1,
                line_item_line_item_description="Linux m5.xlarge RI recurring fee",
            )
            sp_usage: dict[str, Any] = {
                "line_item_usage_type": "BoxUsage:c6g.large",
                "line_item_usage_amount": 40.0,
                "pricing_unit": "Hrs",
                "product_instance_type": "c6g.large",
                "product_sku": "SKU-C6G",
                "savings_plan_savings_plan_a_r_n": sp_arn,
                "pricing_rate_id": "RATE-C6G-SP",
            }
            yield row(
                d,
                "SavingsPlanCoveredUsage",
                5.0,
                **sp_usage,
                line_item_resource_id="i-0ccc3333",
                line_item_unblended_rate=0.125,
                pricing_public_on_demand_rate=0.125,
                pricing_public_on_demand_cost=5.0,
                savings_plan_savings_plan_effective_cost=3.6,
                line_item_line_item_description="Compute Savings Plan covered usage",
            )
            yield row(
                d,
                "SavingsPlanNegation",
                -5.0,
                **sp_usage,
                line_item_unblended_rate=-0.125,
                line_item_resource_id="i-0ccc3333",
                line_item_line_item_description="Savings Plan negation of covered usage",
            )
            yield row(
                d,
                "SavingsPlanRecurringFee",
                4.0,
                line_item_product_code="ComputeSavingsPlans",
                product_servicecode="ComputeSavingsPlans",
                line_item_usage_type="ComputeSP:1yrNoUpfront",
                savings_plan_savings_plan_a_r_n=sp_arn,
                pricing_rate_id="RATE-COMPUTESP-1YR",
                line_item_usage_amount=24.0,
                pricing_unit="Hrs",
                line_item_unblended_rate=0.166666667,  # $4.00 a day of commitment, per hour
                savings_plan_total_commitment_to_date=4.0,
                savings_plan_used_commitment=3.6,
                product={"product_name": "Savings Plans for AWS Compute usage"},
                line_item_line_item_description="1 year No Upfront Compute Savings Plan",
            )
            yield row(
                d,
                "Usage",
                0.61,
                **{**ec2, "line_item_usage_type": "SpotUsage:g5.xlarge", "product_sku": "SKU-G5"},
                line_item_resource_id="i-0ddd4444",
                pricing_term="Spot",
                pricing_public_on_demand_cost=1.006,
                line_item_line_item_description="Spot g5.xlarge",
            )
            yield row(
                d,
                "Usage",
                1.23,
                line_item_product_code="AmazonS3",
                product_servicecode="AmazonS3",
                line_item_usage_type="TimedStorage-ByteHrs",
                line_item_resource_id="acme-lake-raw",
                line_item_usage_amount=53.5,
                pricing_unit="GB-Mo",
                pricing_term="OnDemand",
                pricing_public_on_demand_cost=1.23,
                product={"product_name": "Amazon Simple Storage Service"},
                resource_tags={"user_team": "data"},
            )
            yield row(
                d,
                "EdpDiscount",
                -0.46,
                line_item_usage_type="BoxUsage:m5.large",
                line_item_line_item_description="Enterprise discount",
            )
            yield row(d, "Tax", 0.83, line_item_line_item_description="Tax for AmazonEC2")
        first = month.replace(day=start.day)
        yield row(
            first,
            "Fee",
            100.0,
            line_item_usage_type="HeavyUsage:m5.xlarge",
            reservation_reservation_a_r_n=ri_arn,
            line_item_line_item_description="Sign up charge for RI ri-0a1b2c3d (upfront)",
        )
        yield row(
            first,
            "Credit",
            -10.0,
            line_item_line_item_description="AWS Activate promotional credit",
        )
        yield row(
            first,
            "Refund",
            -2.5,
            line_item_line_item_description="Refund for overbilled m5.large usage",
        )
        yield row(
            first,
            "Usage",
            7.5,
            bill_billing_entity="AWS Marketplace",
            line_item_product_code="prod-dd4711",
            product_servicecode=None,
            line_item_legal_entity="Datadog, Inc.",
            line_item_usage_type="DD-Infra-Host",
            line_item_usage_amount=3.0,
            pricing_unit="Hosts",
            product={"product_name": "Datadog Pro"},
        )


def write_sample_cur(path: Path, start: date, days: int) -> int:
    """Write the sample as ``path`` (.parquet, .csv.gz or .csv); returns the row count."""
    rows = list(sample_cur_rows(start, days))
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".parquet"):
        schema = pa.schema([pa.field(c.name, _arrow_type(c.name, c.type)) for c in AWS_CUR_COLUMNS])
        data = {
            c.name: [_arrow_value(c.name, r.get(c.name)) for r in rows] for c in AWS_CUR_COLUMNS
        }
        pq.write_table(pa.table(data, schema=schema), path)
        return len(rows)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="") as out:
        writer = csv.DictWriter(out, [c.name for c in AWS_CUR_COLUMNS])
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _csv_value(v) for k, v in r.items()})
    return len(rows)


def _arrow_type(name: str, kind: str) -> pa.DataType:
    if name in AWS_CUR_MAP_COLUMNS:
        return pa.map_(pa.string(), pa.string())
    return {"FLOAT": pa.float64(), "TIMESTAMP": pa.timestamp("ms", tz="UTC")}.get(kind, pa.string())


def _arrow_value(name: str, value: Any) -> Any:
    if name in AWS_CUR_MAP_COLUMNS and value is not None:
        return list(value.items())
    return value


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)
