-- Mirror one state of a schedule into the pipeline_schedules table the dashboards read
-- (shared/handlers/meta_mirror.py). Idempotent on schedule_id; a state replaces the row
-- only if it is newer: a later change of the schedule (updated_at), or at the same
-- updated_at a later firing (last_run_at). Values arrive as literals through render_sql.
MERGE `{project_id}.{dataset}.pipeline_schedules` AS target
USING (
  SELECT
    {schedule_id} AS schedule_id,
    {org_slug} AS org_slug,
    {provider} AS provider,
    {domain} AS domain,
    {pipeline} AS pipeline,
    {cron_expression} AS cron_expression,
    {is_enabled} AS is_enabled,
    CAST({last_run_at} AS TIMESTAMP) AS last_run_at,
    CAST({next_run_at} AS TIMESTAMP) AS next_run_at,
    PARSE_JSON({parameters}) AS parameters,
    {created_at} AS created_at,
    {updated_at} AS updated_at
) AS source
ON target.schedule_id = source.schedule_id
WHEN MATCHED AND (
  source.updated_at > target.updated_at
  OR (
    source.updated_at = target.updated_at
    AND COALESCE(source.last_run_at, TIMESTAMP '1970-01-01 00:00:00+00')
      > COALESCE(target.last_run_at, TIMESTAMP '1970-01-01 00:00:00+00')
  )
) THEN
  UPDATE SET
    org_slug = source.org_slug,
    provider = source.provider,
    domain = source.domain,
    pipeline = source.pipeline,
    cron_expression = source.cron_expression,
    is_enabled = source.is_enabled,
    last_run_at = source.last_run_at,
    next_run_at = source.next_run_at,
    parameters = source.parameters,
    created_at = source.created_at,
    updated_at = source.updated_at
WHEN NOT MATCHED THEN
  INSERT (
    schedule_id, org_slug, provider, domain, pipeline, cron_expression, is_enabled,
    last_run_at, next_run_at, parameters, created_at, updated_at
  )
  VALUES (
    source.schedule_id, source.org_slug, source.provider, source.domain, source.pipeline,
    source.cron_expression, source.is_enabled, source.last_run_at, source.next_run_at,
    source.parameters, source.created_at, source.updated_at
  )
