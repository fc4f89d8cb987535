"""A warehouse column as the domain declares tables: pure data (the Warehouse port takes it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # BigQuery standard SQL type: STRING, NUMERIC, DATE, TIMESTAMP, JSON, ...
    mode: str = "NULLABLE"
    fields: tuple[Column, ...] = ()  # the sub-columns of a RECORD (e.g. a billing export)
