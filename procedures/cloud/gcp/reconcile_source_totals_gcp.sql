-- GCP source totals for sp_cloud_2_reconcile_gcp (template: ../sp_cloud_2_reconcile.sql):
-- straight from the raw export copy and independent of the FOCUS mapping, what Google
-- invoices, SUM(cost) + SUM(credits.amount), as BilledCost - and the same figure as
-- EffectiveCost, since GCP has no prepaid commitments to amortize. Over the rows this run's
-- extract wrote (the window plus any day reopened by late rows).
--
-- A query with one row per usage day and billing currency of the run's source rows:
-- day, currency, n (rows), billed, effective, source_system. It may use the procedure's
-- arguments.
-- fragment run_filter: common/run_filter.sql
-- fragment run_credits: cloud/gcp/run_credits.sql
(
  SELECT
    costs.day,
    costs.currency,
    costs.n,
    costs.cost + IFNULL(credits.amount, 0) AS billed,
    -- no prepaid commitments to amortize: EffectiveCost is the invoiced figure
    costs.cost + IFNULL(credits.amount, 0) AS effective,
    'gcp' AS source_system
  FROM (
    SELECT x_pipeline_run_date AS day, currency, COUNT(*) AS n, SUM(cost) AS cost
    FROM `{project_id}.{dataset}.gcp_billing_export_raw`
    WHERE {run_filter}
    GROUP BY day, currency
  ) AS costs
  LEFT JOIN (
    SELECT rc.day, rc.currency, SUM(c.amount) AS amount
    FROM {run_credits}
    GROUP BY day, currency
  ) AS credits
    ON credits.day = costs.day AND credits.currency = costs.currency
)
