-- Mirror one state of a run into the pipeline_runs table the dashboards read (shared/handlers/meta_mirror.py).
-- Idempotent on run_id: the same state twice leaves one unchanged row. Mirrors arrive out
-- of order (Pub/Sub), so a state replaces the row only if it is newer: a later status in
-- the state machine (the ranks of shared/domain/meta.py RUN_STATUS_RANK), or the same
-- status reached later (updated_at). Values arrive as literals through render_sql.
MERGE `{project_id}.{dataset}.pipeline_runs` AS target
USING (
  SELECT
    {run_id} AS run_id,
    {org_slug} AS org_slug,
    {provider} AS provider,
    {domain} AS domain,
    {pipeline} AS pipeline,
    {status} AS status,
    CAST({started_at} AS TIMESTAMP) AS started_at,
    CAST({completed_at} AS TIMESTAMP) AS completed_at,
    {records_processed} AS records_processed,
    CAST({error_message} AS STRING) AS error_message,
    PARSE_JSON({parameters}) AS parameters,
    {created_by} AS created_by,
    {created_at} AS created_at,
    {updated_at} AS updated_at,
    {pipeline_id} AS pipeline_id,
    CAST({progress} AS FLOAT64) AS progress
) AS source
ON target.run_id = source.run_id
WHEN MATCHED AND (
  (CASE source.status
    WHEN 'pending' THEN 0 WHEN 'validating' THEN 1 WHEN 'running' THEN 2
    WHEN 'processing' THEN 3 ELSE 4 END)
  > (CASE target.status
    WHEN 'pending' THEN 0 WHEN 'validating' THEN 1 WHEN 'running' THEN 2
    WHEN 'processing' THEN 3 ELSE 4 END)
  OR (
    source.status = target.status
    AND source.updated_at > COALESCE(target.updated_at, TIMESTAMP '1970-01-01 00:00:00+00')
  )
) THEN
  UPDATE SET
    org_slug = source.org_slug,
    provider = source.provider,
    domain = source.domain,
    pipeline = source.pipeline,
    status = source.status,
    started_at = source.started_at,
    completed_at = source.completed_at,
    records_processed = source.records_processed,
    error_message = source.error_message,
    parameters = source.parameters,
    created_by = source.created_by,
    created_at = source.created_at,
    updated_at = source.updated_at,
    pipeline_id = source.pipeline_id,
    progress = source.progress
WHEN NOT MATCHED THEN
  INSERT (
    run_id, org_slug, provider, domain, pipeline, status, started_at, completed_at,
    records_processed, error_message, parameters, created_by, created_at, updated_at,
    pipeline_id, progress
  )
  VALUES (
    source.run_id, source.org_slug, source.provider, source.domain, source.pipeline,
    source.status, source.started_at, source.completed_at, source.records_processed,
    source.error_message, source.parameters, source.created_by, source.created_at,
    source.updated_at, source.pipeline_id, source.progress
  )
