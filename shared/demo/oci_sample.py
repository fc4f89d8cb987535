"""Realistic OCI cost-report rows (hourly lines), written as a gzip CSV like OCI's own.

One tenancy billed in USD: compute, block storage, object storage and network lines per
hour across two compartments, with defined and free-form tags (``tags/<ns>.<key>``
columns, different rows tagging differently) and a correction that
negates an earlier line (lineItem/isCorrection, lineItem/backreferenceNo).
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

TENANCY = "ocid1.tenancy.oc1..aaaaacme"
_COMPARTMENTS = (
    (
        "ocid1.compartment.oc1..prod",
        "prod",
        {"tags/Oracle-Tags.CreatedBy": "ci-bot", "tags/CostCenter.team": "web"},
    ),
    ("ocid1.compartment.oc1..data", "data", {"tags/CostCenter.team": "data"}),
)
_LINES = (  # service, sku, description, unit, quantity per hour, unit price
    ("COMPUTE", "B97384", "Compute - Standard - E4 - OCPU", "OCPU Per Hour", 4.0, 0.025),
    ("COMPUTE", "B97385", "Compute - Standard - E4 - Memory", "Gigabyte Per Hour", 64.0, 0.0015),
    (
        "BLOCK_STORAGE",
        "B91961",
        "Storage - Block Volume - Storage",
        "Gigabyte Storage Capacity Per Month",
        0.6849,
        0.0255,
    ),
    (
        "OBJECTSTORE",
        "B91628",
        "Object Storage - Storage",
        "Gigabyte Storage Capacity Per Month",
        1.3699,
        0.0255,
    ),
    ("NETWORK", "B88327", "Outbound Data Transfer Zone 1", "Gigabytes", 2.5, 0.0085),
)
# The OCID resource type of each service's resources (ocid1.<type>.<realm>..<id>).
_OCID_TYPES = {
    "COMPUTE": "instance",
    "BLOCK_STORAGE": "volume",
    "OBJECTSTORE": "bucket",
    "NETWORK": "vnic",
}
HEADER = (
    "lineItem/referenceNo",
    "lineItem/tenantId",
    "lineItem/intervalUsageStart",
    "lineItem/intervalUsageEnd",
    "product/service",
    "product/compartmentId",
    "product/compartmentName",
    "product/region",
    "product/availabilityDomain",
    "product/resourceId",
    "usage/billedQuantity",
    "usage/billedQuantityOverage",
    "cost/subscriptionId",
    "cost/productSku",
    "product/Description",
    "cost/unitPrice",
    "cost/unitPriceOverage",
    "cost/myCost",
    "cost/myCostOverage",
    "cost/currencyCode",
    "cost/billingUnitReadable",
    "cost/skuUnitDescription",
    "cost/overageFlag",
    "lineItem/isCorrection",
    "lineItem/backreferenceNo",
    "tags/Oracle-Tags.CreatedBy",
    "tags/CostCenter.team",
)


def sample_report_rows(start: date, days: int, *, hours: int = 4) -> Iterator[dict[str, Any]]:
    serial = 0
    midnight = datetime(start.year, start.month, start.day, tzinfo=UTC)
    for day in range(days):
        for hour in range(hours):
            h0 = midnight + timedelta(days=day, hours=hour)
            for ocid, name, tags in _COMPARTMENTS:
                for service, sku, description, unit, quantity, price in _LINES:
                    serial += 1
                    yield {
                        "lineItem/referenceNo": f"ref-{serial:07d}",
                        "lineItem/tenantId": TENANCY,
                        "lineItem/intervalUsageStart": h0.strftime("%Y-%m-%dT%H:%MZ"),
                        "lineItem/intervalUsageEnd": (h0 + timedelta(hours=1)).strftime(
                            "%Y-%m-%dT%H:%MZ"
                        ),
                        "product/service": service,
                        "product/compartmentId": ocid,
                        "product/compartmentName": name,
                        "product/region": "eu-frankfurt-1",
                        "product/availabilityDomain": "EU-FRANKFURT-1-AD-1",
                        "product/resourceId": f"ocid1.{_OCID_TYPES[service]}.oc1..{name}{sku}",
                        "usage/billedQuantity": quantity,
                        "usage/billedQuantityOverage": 0.0,
                        "cost/subscriptionId": "9876543",
                        "cost/productSku": sku,
                        "product/Description": description,
                        "cost/unitPrice": price,
                        "cost/unitPriceOverage": price,
                        "cost/myCost": round(quantity * price, 6),
                        "cost/myCostOverage": 0.0,
                        "cost/currencyCode": "USD",
                        "cost/billingUnitReadable": unit,
                        "cost/skuUnitDescription": unit,
                        "cost/overageFlag": "",
                        "lineItem/isCorrection": "false",
                        "lineItem/backreferenceNo": "",
                        **tags,
                    }
    # a correction negating the first compute line
    yield {
        "lineItem/referenceNo": f"ref-{serial + 1:07d}",
        "lineItem/tenantId": TENANCY,
        "lineItem/intervalUsageStart": midnight.strftime("%Y-%m-%dT%H:%MZ"),
        "lineItem/intervalUsageEnd": (midnight + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%MZ"),
        "product/service": "COMPUTE",
        "product/compartmentId": _COMPARTMENTS[0][0],
        "product/compartmentName": "prod",
        "product/region": "eu-frankfurt-1",
        "usage/billedQuantity": -4.0,
        "cost/productSku": "B97384",
        "product/Description": "Compute - Standard - E4 - OCPU",
        "cost/unitPrice": 0.025,
        "cost/myCost": -0.1,
        "cost/currencyCode": "USD",
        "cost/skuUnitDescription": "OCPU Per Hour",
        "lineItem/isCorrection": "true",
        "lineItem/backreferenceNo": "ref-0000001",
    }


def write_sample_report(path: Path, start: date, days: int) -> int:
    rows = list(sample_report_rows(start, days))
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", newline="") as out:
        writer = csv.DictWriter(out, HEADER)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return len(rows)
