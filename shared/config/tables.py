"""Every table the pipelines write to in an org's dataset, and its columns."""

from __future__ import annotations

from collections.abc import Sequence

from shared.domain.cloud_billing import (
    GCP_RAW_COLUMNS,
    GCP_RAW_TABLE,
    RECONCILIATION_COLUMNS,
    RECONCILIATION_TABLE,
)
from shared.domain.focus import COST_TABLE, COST_TABLE_COLUMNS
from shared.domain.genai import (
    COSTS_RAW_COLUMNS,
    COSTS_RAW_TABLE,
    UNIFIED_DAILY_COLUMNS,
    UNIFIED_DAILY_TABLE,
    USAGE_DAILY_COLUMNS,
    USAGE_DAILY_TABLE,
    USAGE_RAW_COLUMNS,
    USAGE_RAW_TABLE,
)
from shared.domain.saas_subscriptions import (
    DAILY_COSTS_COLUMNS,
    DAILY_COSTS_TABLE,
    PLANS_COLUMNS,
    PLANS_TABLE,
)
from shared.ports import Column

ORG_TABLES: dict[str, Sequence[Column]] = {
    PLANS_TABLE: PLANS_COLUMNS,
    DAILY_COSTS_TABLE: DAILY_COSTS_COLUMNS,
    COST_TABLE: COST_TABLE_COLUMNS,
    USAGE_RAW_TABLE: USAGE_RAW_COLUMNS,
    COSTS_RAW_TABLE: COSTS_RAW_COLUMNS,
    USAGE_DAILY_TABLE: USAGE_DAILY_COLUMNS,
    UNIFIED_DAILY_TABLE: UNIFIED_DAILY_COLUMNS,
    GCP_RAW_TABLE: GCP_RAW_COLUMNS,
    RECONCILIATION_TABLE: RECONCILIATION_COLUMNS,
}
