-- Record that one migration was applied to an org dataset; a second record of the same
-- migration is a no-op. Values arrive as literals through render_sql.
MERGE `{project_id}.{dataset}.{migrations_table}` AS target
USING (
  SELECT {migration} AS migration, {sha256} AS sha256, {statements} AS statements
) AS applied
ON target.migration = applied.migration
WHEN NOT MATCHED THEN
  INSERT (migration, sha256, statements, applied_at)
  VALUES (applied.migration, applied.sha256, applied.statements, CURRENT_TIMESTAMP())
