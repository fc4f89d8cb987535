-- The columns of genai_usage_daily_unified (UNIFIED_DAILY_COLUMNS of shared/domain/genai.py;
-- the unit tests compare them): genai_usage_daily's own, then the slice each row came from.
-- fragment lineage_columns: common/lineage_columns.sql
usage_date, provider, sub_account_id, model, token_type, unit, quantity, pricing_quantity,
pricing_unit, cost, currency, cost_source, source_pipeline_id, source_credential_id,
source_run_id, {lineage_columns}
