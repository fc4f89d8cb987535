-- Replace one lineage slice of a table with the rows loaded into a staging table.
-- The slice is (x_org_slug, x_pipeline_id, x_credential_id, x_pipeline_run_date range):
-- running the same load twice leaves the same rows. One transaction, so readers never
-- see the slice half-replaced; an unhandled error rolls the whole script back.
-- Filled by shared.adapters.bigquery.sql_files.render_sql (validated identifiers, literals).
BEGIN TRANSACTION;

DELETE FROM `{project_id}.{dataset}.{target_table}`
WHERE x_org_slug = {org_slug}
  AND x_pipeline_id = {pipeline_id}
  AND x_credential_id = {credential_id}
  AND x_pipeline_run_date BETWEEN {start_date} AND {end_date};

INSERT INTO `{project_id}.{dataset}.{target_table}` ({columns})
SELECT {columns}
FROM `{project_id}.{dataset}.{staging_table}`;

COMMIT TRANSACTION;
