-- Record the body just deployed for one procedure of an org dataset (one row per procedure).
-- shared/handlers/procedures.py compares this sha256 with the file's rendered SQL, so an
-- unchanged procedure is not re-created. Values arrive as literals through render_sql
-- (the emulator refuses query parameters inside MERGE ... USING).
MERGE `{project_id}.{dataset}.{versions_table}` AS target
USING (SELECT {procedure} AS procedure, {sha256} AS sha256, {source} AS source) AS deployed
ON target.procedure = deployed.procedure
WHEN MATCHED THEN
  UPDATE SET sha256 = deployed.sha256, source = deployed.source,
    deployed_at = CURRENT_TIMESTAMP()
WHEN NOT MATCHED THEN
  INSERT (procedure, sha256, source, deployed_at)
  VALUES (deployed.procedure, deployed.sha256, deployed.source, CURRENT_TIMESTAMP())
