"""What every output table of an org dataset must hold in its lineage columns."""

from __future__ import annotations

from shared.ports import Warehouse


def assert_ingestion_dates(warehouse: Warehouse, dataset: str) -> dict[str, int]:
    """Every row of every table of ``dataset`` that has ``x_ingested_at`` (the output
    tables: raw, daily, FOCUS) has x_ingestion_date, the UTC day of x_ingested_at.
    Returns the tables checked with their row counts."""
    home = f"`{warehouse.project_id}.{dataset}`"
    tables = [
        r["table_name"]
        for r in warehouse.query(
            f"SELECT table_name FROM {home}.INFORMATION_SCHEMA.COLUMNS "
            "WHERE column_name = 'x_ingested_at' ORDER BY table_name"
        )
        if not r["table_name"].startswith("_")  # staging and bookkeeping tables
    ]
    counted: dict[str, int] = {}
    for table in tables:
        (row,) = warehouse.query(
            "SELECT COUNT(*) AS n, COUNTIF(x_ingestion_date IS NULL"
            " OR x_ingestion_date != DATE(x_ingested_at)) AS wrong"
            f" FROM {home}.{table}"
        )
        assert row["wrong"] == 0, f"{dataset}.{table}: {row['wrong']} rows lack x_ingestion_date"
        counted[table] = row["n"]
    return counted
