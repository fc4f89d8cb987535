-- The delivery keys the org_notification_history of an org holds from a time on: the
-- catch-up mirrors the recorded deliveries missing from it. Literals: since.
SELECT delivery_key
FROM `{project_id}.{dataset}.org_notification_history`
WHERE created_at >= {since}
