-- The columns of genai_payg_costs_raw (COSTS_RAW_COLUMNS of shared/domain/genai.py; the
-- unit tests compare them): the list of every write that fills the table.
-- fragment lineage_columns: common/lineage_columns.sql
cost_date, provider, sub_account_id, line_item, model, token_type, cost_type, service_tier,
amount, currency, source_amount, cost_source, {lineage_columns}
