-- What pipeline_runs holds of the runs of an org created since a time: the catch-up compares
-- the version of each state (status, updated_at) with the state store and re-mirrors those
-- behind. Literals (render_sql): org_slug, since.
SELECT run_id, status, updated_at
FROM `{project_id}.{dataset}.pipeline_runs`
WHERE org_slug = {org_slug}
  AND created_at >= {since}
