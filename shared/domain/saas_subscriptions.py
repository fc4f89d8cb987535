"""The SaaS-subscription tables of an org's dataset: one schema, used to create them.

``subscription_plans`` is the input (the org's SaaS contracts); the stored procedures in
``procedures/subscription/`` turn it into ``subscription_costs_daily`` (one row per plan
per day) and then into FOCUS rows of ``cost_data_standard_1_3``. The procedures name these
columns, so a change here is a change there.
"""

from __future__ import annotations

from shared.domain.columns import Column
from shared.domain.focus import LINEAGE_COLUMNS

SOURCE_SYSTEM = "subscription"

PLANS_TABLE = "subscription_plans"
DAILY_COSTS_TABLE = "subscription_costs_daily"
SP_CALCULATE_DAILY_COSTS = "sp_subscription_2_calculate_daily_costs"
SP_CONVERT_TO_FOCUS = "sp_subscription_3_convert_to_focus"

BILLING_CYCLES = ("monthly", "annual")
PRICING_MODELS = ("flat", "per_seat")
# Plans in these states cost money on the days between start_date and end_date; 'trial'
# and 'paused' plans cost nothing. A cancelled plan keeps its end_date (its last paid day).
BILLED_STATUSES = ("active", "cancelled")
PLAN_STATUSES = (*BILLED_STATUSES, "trial", "paused")

PLANS_COLUMNS: tuple[Column, ...] = (
    Column("subscription_id", "STRING"),  # unique per plan row; FOCUS ResourceId
    Column("provider", "STRING"),  # the vendor, e.g. "Slack"
    Column("product", "STRING"),  # e.g. "Jira"; null means the vendor's name
    Column("plan_name", "STRING"),  # e.g. "Business+"
    Column("billing_cycle", "STRING"),  # BILLING_CYCLES
    Column("pricing_model", "STRING"),  # PRICING_MODELS
    Column("unit_price", "NUMERIC"),  # list price per billing period (per seat if per_seat)
    Column("seats", "INT64"),  # per_seat only
    Column("currency", "STRING"),  # ISO 4217
    Column("start_date", "DATE"),  # first paid day
    Column("end_date", "DATE"),  # last paid day (inclusive); null = open-ended
    Column("discount_pct", "NUMERIC"),  # negotiated discount, 0-100; null = none
    Column("category", "STRING"),  # FOCUS ServiceCategory; null = "Business Applications"
    Column("subcategory", "STRING"),  # FOCUS ServiceSubcategory; null = "Other (<category>)"
    Column("sub_account_id", "STRING"),  # team / cost centre paying for it
    Column("sub_account_name", "STRING"),
    Column("tags", "JSON"),  # flat object of string tags
    Column("status", "STRING"),  # PLAN_STATUSES
)

DAILY_COSTS_COLUMNS: tuple[Column, ...] = (
    Column("cost_date", "DATE"),
    Column("subscription_id", "STRING"),
    Column("provider", "STRING"),
    Column("product", "STRING"),
    Column("plan_name", "STRING"),
    Column("billing_cycle", "STRING"),
    Column("pricing_model", "STRING"),
    Column("currency", "STRING"),
    Column("category", "STRING"),
    Column("subcategory", "STRING"),
    Column("sub_account_id", "STRING"),
    Column("sub_account_name", "STRING"),
    Column("tags", "JSON"),
    Column("quantity", "INT64"),  # seats for per_seat plans, 1 for flat ones
    Column("unit_price", "NUMERIC"),  # list price per unit per billing period
    Column("discount_pct", "NUMERIC"),
    Column("period_start", "DATE"),  # the billing period holding cost_date
    Column("period_days", "INT64"),  # its length in days
    Column("list_cost", "NUMERIC"),  # the day's share of unit_price x quantity
    Column("daily_cost", "NUMERIC"),  # the same after the discount: what the day costs
    *LINEAGE_COLUMNS,
)
