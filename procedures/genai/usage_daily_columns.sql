-- The columns of genai_usage_daily (USAGE_DAILY_COLUMNS of shared/domain/genai.py; the unit
-- tests compare them): the list of every write that fills the table.
-- fragment lineage_columns: common/lineage_columns.sql
usage_date, provider, sub_account_id, model, token_type, unit, quantity, pricing_quantity,
pricing_unit, cost, currency, cost_source, {lineage_columns}
