-- The columns of genai_payg_usage_raw (USAGE_RAW_COLUMNS of shared/domain/genai.py; the
-- unit tests compare them): the list of every write that fills the table.
-- fragment lineage_columns: common/lineage_columns.sql
usage_date, provider, endpoint, sub_account_id, model, token_type, unit, quantity,
pricing_quantity, pricing_unit, bucket_start, {lineage_columns}
