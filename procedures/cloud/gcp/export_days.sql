-- The usage days extract_billing_export.sql replaces (its DELETE and its INSERT read the
-- same list): the run's window, plus every usage day of a row the source exported in the
-- window, back to late_days days before it.
SELECT day FROM UNNEST(GENERATE_DATE_ARRAY({start_date}, {end_date})) AS day
  UNION DISTINCT
  SELECT DATE(usage_start_time)
  FROM `{source_project_id}.{source_dataset}.{source_table}`
  WHERE DATE(export_time) BETWEEN {start_date} AND {end_date}
    AND DATE(usage_start_time) >= DATE_SUB({start_date}, INTERVAL {late_days} DAY)
