-- Record one notification delivery in the org_notification_history of the org
-- (shared/handlers/meta_mirror.py). A delivery never changes once recorded, so a second
-- mirror of the same delivery_key inserts nothing. Values arrive as literals.
MERGE `{project_id}.{dataset}.org_notification_history` AS target
USING (
  SELECT
    {delivery_key} AS delivery_key,
    {org_slug} AS org_slug,
    {event} AS event,
    {channel} AS channel,
    {target} AS target,
    {run_id} AS run_id,
    {trigger_key} AS trigger_key,
    {status} AS status,
    {attempts} AS attempts,
    CAST({error} AS STRING) AS error,
    {created_at} AS created_at
) AS source
ON target.delivery_key = source.delivery_key
WHEN NOT MATCHED THEN
  INSERT (
    delivery_key, org_slug, event, channel, target, run_id, trigger_key, status, attempts,
    error, created_at
  )
  VALUES (
    source.delivery_key, source.org_slug, source.event, source.channel, source.target,
    source.run_id, source.trigger_key, source.status, source.attempts, source.error,
    source.created_at
  )
