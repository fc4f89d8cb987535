-- What pipeline_schedules holds: the version of each schedule (updated_at, last_run_at), for
-- the catch-up to re-mirror those behind the state store.
SELECT schedule_id, updated_at, last_run_at
FROM `{project_id}.{dataset}.pipeline_schedules`
