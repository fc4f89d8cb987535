-- 001: cost rows the subscription pipeline wrote before x_source_system existed carry NULL
-- there (ensure_table added the column to older datasets). Those rows are exactly the
-- ones with an x_subscription_id; give them the value the pipeline writes today. Rows of
-- other sources are left alone: nothing in a row names its source reliably.
-- Idempotent: a second run finds no NULL to fill.
UPDATE `{project_id}.{dataset}.cost_data_standard_1_3`
SET x_source_system = 'subscription'
WHERE x_source_system IS NULL
  AND x_subscription_id IS NOT NULL;
