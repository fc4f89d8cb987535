-- The head of every native cloud converter (each sp_cloud_1_convert_to_focus_<provider> but
-- the FOCUS export's), after ../common/procedure_start.sql and its late_days declaration:
-- replace_focus_slice.sql's slice replace with rows whose FOCUS decimals are still
-- FLOAT64, rounded on the way by focus_from_float.sql. It goes on with the converter's
-- query and two closing parentheses.
-- fragment replace_focus_slice: cloud/replace_focus_slice.sql
-- fragment focus_from_float: cloud/focus_from_float.sql
-- fragment lineage_columns: common/lineage_columns.sql
{replace_focus_slice}
  SELECT {focus_from_float}, {lineage_columns}
  FROM (
