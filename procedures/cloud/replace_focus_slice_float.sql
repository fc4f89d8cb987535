-- The head of every native cloud converter (each sp_cloud_1_convert_to_focus_<provider> but
-- the FOCUS export's), after ../common/procedure_start.sql: stage_focus_rows.sql's staging
-- of rows whose FOCUS decimals are still FLOAT64, rounded on the way by
-- focus_from_float.sql. It goes on with the converter's query and a closing parenthesis.
-- fragment stage_focus_rows: cloud/stage_focus_rows.sql
-- fragment focus_from_float: cloud/focus_from_float.sql
-- fragment lineage_columns: common/lineage_columns.sql
{stage_focus_rows}
  SELECT {focus_from_float}, {lineage_columns}
  FROM (
