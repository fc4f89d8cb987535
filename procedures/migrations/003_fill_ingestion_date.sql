-- 003: x_ingestion_date, the lineage column clients partition by, on the tables written
-- before it existed. Every table of the dataset that has x_ingested_at is an output table
-- (raw, daily, FOCUS, an API extractor's): the column is added where missing and filled
-- with x_ingested_at's UTC day, exactly what the pipelines now write. Found through
-- INFORMATION_SCHEMA rather than listed, so tables a pipeline names in its config are
-- covered too. Idempotent: a second run adds nothing and finds no NULL to fill.
FOR output_table IN (
  SELECT columns.table_name
  FROM `{project_id}.{dataset}`.INFORMATION_SCHEMA.COLUMNS AS columns
  JOIN `{project_id}.{dataset}`.INFORMATION_SCHEMA.TABLES AS tables
    ON tables.table_name = columns.table_name
  WHERE columns.column_name = 'x_ingested_at'
    AND tables.table_type = 'BASE TABLE'
  ORDER BY columns.table_name
)
DO
  EXECUTE IMMEDIATE FORMAT(
    'ALTER TABLE `{project_id}.{dataset}`.%s ADD COLUMN IF NOT EXISTS x_ingestion_date DATE',
    output_table.table_name
  );
  EXECUTE IMMEDIATE FORMAT(
    'UPDATE `{project_id}.{dataset}`.%s SET x_ingestion_date = DATE(x_ingested_at) '
    || 'WHERE x_ingestion_date IS NULL AND x_ingested_at IS NOT NULL',
    output_table.table_name
  );
END FOR;
