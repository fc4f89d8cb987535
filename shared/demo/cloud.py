"""The cloud part of ``make run``: sample GCP and AWS billing data converted to FOCUS 1.3.

Loads three days of a sample GCP detailed billing export into a source dataset and writes
the same days of a sample AWS CUR 2.0 Parquet file, runs both pipelines through the
dispatcher, then prints the reconciliation and the FOCUS check of the converted rows.
"""

from __future__ import annotations

from datetime import date, timedelta

from shared.demo.aws_sample import write_sample_cur
from shared.demo.gcp_sample import load_sample_export
from shared.entrypoints.cli.console import print_table
from shared.entrypoints.cli.follow import run_and_wait
from shared.handlers.credentials import set_credential
from shared.handlers.focus_check import check_focus
from shared.handlers.reconciliation import reconciliation_rows
from shared.handlers.services import Services

DEMO_DAYS = 3
GCP_EXPORT_TABLE = "gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9"


def run_cloud_demo(services: Services, org_slug: str, start: date) -> int:
    end = start + timedelta(days=DEMO_DAYS - 1)
    warehouse = services.warehouse
    source_dataset = f"{org_slug}_gcp_billing_export"
    load_sample_export(warehouse, source_dataset, GCP_EXPORT_TABLE, start, DEMO_DAYS)
    cur = (services.settings.files_root or services.settings.home) / "demo_cur"
    cur = cur / f"cur2_{start:%Y%m}.parquet"
    write_sample_cur(cur, start, DEMO_DAYS)
    print(f"\nsample cloud billing: {source_dataset}.{GCP_EXPORT_TABLE} and {cur}\n")
    # Cloud pipelines run under the org's provider credential (its id is in every row's
    # lineage). The embedded warehouse needs no real key: store clearly-labelled samples.
    for provider in ("gcp", "aws"):
        if services.credentials.get(org_slug, provider) is None:
            set_credential(services, org_slug, provider, f"sample-{provider}-credential-demo")
    gcp = {
        "source_project": warehouse.project_id,
        "source_dataset": source_dataset,
        "source_table": GCP_EXPORT_TABLE,
    }
    status = run_and_wait(
        services, org_slug, "gcp", "cost", "billing", start, end, gcp, trigger="demo"
    )
    status |= run_and_wait(
        services,
        org_slug,
        "aws",
        "cost",
        "billing",
        start,
        end,
        {"cur_uri": str(cur)},
        trigger="demo",
    )
    dataset = services.settings.org_dataset(org_slug)
    rows = reconciliation_rows(warehouse, dataset, org_slug, start=start, end=end)
    print("\nreconciliation (source vs FOCUS, per day and billing currency):")
    print_table(
        [
            {
                **r,
                "billed": f"{r['focus_billed_cost']:,.2f}",
                "effective": f"{r['focus_effective_cost']:,.2f}",
                "ok": "ok" if r["ok"] else "MISMATCH",
            }
            for r in rows
        ],
        ["day", "source", "currency", "focus_rows", "billed", "effective", "ok"],
    )
    report = check_focus(warehouse, dataset, org_slug, start=start, end=end)
    print(
        f"FOCUS 1.3 check: {report.rows_checked} rows, {len(report.results)} rules, "
        f"{len(report.failed)} violated"
    )
    return status or (0 if report.ok and all(r["ok"] for r in rows) else 1)
