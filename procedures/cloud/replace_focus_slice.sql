-- Included by every sp_cloud_1_convert_to_focus_<provider> (-- fragment line) after
-- ../common/procedure_start.sql: the reset of the run's staged rows, and the head of the
-- INSERT of the converter's rows, every FOCUS 1.3 and lineage column by name, which goes on
-- with "SELECT <those columns> FROM (<the converter's query>);". The conversion writes to
-- cost_data_standard_1_3_staging, not to cost_data_standard_1_3: the step reconciles the
-- staged rows with the source and only then replaces the org's slice with them (one
-- transaction, publish_focus_slice.sql), so a conversion that does not reconcile leaves
-- the FOCUS table as it was. Rows an earlier attempt of this run staged are dropped first.
-- fragment run_filter: common/run_filter.sql
-- fragment focus_columns: common/focus_columns.sql
-- fragment lineage_columns: common/lineage_columns.sql
DELETE FROM `{project_id}.{dataset}.cost_data_standard_1_3_staging`
  WHERE {run_filter};

  INSERT INTO `{project_id}.{dataset}.cost_data_standard_1_3_staging` (
    {focus_columns},
    {lineage_columns}
  )
