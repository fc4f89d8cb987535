-- The columns of subscription_costs_daily (DAILY_COSTS_COLUMNS of
-- shared/domain/saas_subscriptions.py; the unit tests compare them): the list of every
-- write that fills the table.
-- fragment lineage_columns: common/lineage_columns.sql
cost_date, subscription_id, provider, product, plan_name, billing_cycle, pricing_model,
currency, category, subcategory, sub_account_id, sub_account_name, tags,
quantity, unit_price, discount_pct, period_start, period_days, list_cost, daily_cost,
{lineage_columns}
