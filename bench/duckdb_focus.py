"""The DuckDB anchor of bench/focus_conversion.py: one FOCUS-shaped SELECT, Parquet -> Parquet.

    python -m bench.duckdb_focus SOURCE.parquet DEST.parquet [--threads N]

Reads a GCP detailed billing export (the extract job's Parquet file) and writes one FOCUS
1.3-shaped row per export row with a single ``COPY (SELECT ...) TO ... (FORMAT parquet)``,
mapping the main columns the way procedures/cloud/gcp/sp_cloud_1_convert_to_focus_gcp.sql
does: BilledCost = EffectiveCost = cost + the sum of the credits' amounts, ChargeCategory
from cost_type, BillingPeriod from invoice.month, Tags = the user labels as JSON, and so
on. It leaves out what makes our conversion a pipeline step (the run's filter, the
reconciliation, NUMERIC rounding, the service mapping, lineage, the publish): it is the
physical limit of the machine for the shape of the work, not a second converter.

Run as its own process (the bench wraps it to read its peak RSS). Prints one line on
stdout: its configuration, then the rows it wrote.
"""

from __future__ import annotations

import argparse
import os

import duckdb

# cost + SUM(credits.amount): the list form of the sum over UNNEST(credits)
_NET_COST = "(cost + COALESCE(list_sum(list_transform(credits, c -> c.amount)), 0))"
_CHARGE_CATEGORY = f"""CASE
      WHEN cost_type = 'tax' THEN 'Tax'
      WHEN cost_type = 'rounding_error' THEN 'Adjustment'
      WHEN cost_type = 'adjustment' THEN
        CASE WHEN {_NET_COST} < 0
          AND NOT ends_with(COALESCE(adjustment_info.type, ''), '_CORRECTION')
        THEN 'Credit' ELSE 'Adjustment' END
      WHEN starts_with(COALESCE(sku.description, ''), 'Commitment') THEN 'Purchase'
      ELSE 'Usage' END"""
_BILLING_PERIOD_START = "CAST(strptime(invoice.month, '%Y%m') AS TIMESTAMPTZ)"

FOCUS_SELECT = f"""
SELECT
  {_NET_COST} AS BilledCost,
  billing_account_id AS BillingAccountId,
  'Billing Account' AS BillingAccountType,
  currency AS BillingCurrency,
  {_BILLING_PERIOD_START} + INTERVAL 1 MONTH AS BillingPeriodEnd,
  {_BILLING_PERIOD_START} AS BillingPeriodStart,
  ChargeCategory,
  CASE WHEN ends_with(COALESCE(adjustment_info.type, ''), '_CORRECTION') THEN 'Correction' END
    AS ChargeClass,
  COALESCE(adjustment_info.description, service.description || ': ' || sku.description)
    AS ChargeDescription,
  CASE WHEN ChargeCategory IN ('Usage', 'Tax') THEN 'Usage-Based'
    WHEN ChargeCategory = 'Purchase' THEN 'Recurring' ELSE 'One-Time' END AS ChargeFrequency,
  usage_end_time AS ChargePeriodEnd,
  usage_start_time AS ChargePeriodStart,
  CASE WHEN ChargeCategory = 'Usage' THEN usage.amount END AS ConsumedQuantity,
  CASE WHEN ChargeCategory = 'Usage' AND usage.amount IS NOT NULL THEN usage.unit END
    AS ConsumedUnit,
  cost AS ContractedCost,
  COALESCE(price.effective_price, cost / NULLIF(usage.amount_in_pricing_units, 0))
    AS ContractedUnitPrice,
  {_NET_COST} AS EffectiveCost,
  COALESCE(cost_at_list, cost) AS ListCost,
  cost_at_list / NULLIF(usage.amount_in_pricing_units, 0) AS ListUnitPrice,
  usage.amount_in_pricing_units AS PricingQuantity,
  usage.pricing_unit AS PricingUnit,
  'Google Cloud' AS ProviderName,
  COALESCE(location.region, location.location) AS RegionId,
  COALESCE(location.region, location.location) AS RegionName,
  NULLIF(location.zone, '') AS AvailabilityZone,
  resource.global_name AS ResourceId,
  resource.name AS ResourceName,
  service.description AS ServiceName,
  sku.id AS SkuId,
  sku.description AS SkuMeter,
  project.id AS SubAccountId,
  project.name AS SubAccountName,
  CASE WHEN labels IS NULL OR len(labels) = 0 THEN NULL
    ELSE CAST(to_json(map_from_entries(labels)) AS VARCHAR) END AS Tags
FROM (SELECT *, {_CHARGE_CATEGORY} AS ChargeCategory FROM read_parquet($source))
"""


def configuration(threads: int) -> str:
    return f"DuckDB {duckdb.__version__}, threads={threads}, Parquet->Parquet COPY"


def convert(source: str, dest: str, threads: int) -> int:
    """Rows written to ``dest``."""
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    quoted = dest.replace("'", "''")
    # COPY takes no parameter for its target; the source is a bound parameter
    done = con.execute(f"COPY ({FOCUS_SELECT}) TO '{quoted}' (FORMAT parquet)", {"source": source})
    row = done.fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source")
    parser.add_argument("dest")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    written = convert(args.source, args.dest, args.threads)
    print(f"{configuration(args.threads)}: {written} rows")


if __name__ == "__main__":
    main()
