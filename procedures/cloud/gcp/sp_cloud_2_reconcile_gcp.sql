-- sp_cloud_2_reconcile_gcp: source totals vs FOCUS totals per usage day and billing currency.
--
-- Source side, straight from the raw export copy and independent of the FOCUS mapping: what
-- Google invoices, SUM(cost) + SUM(credits.amount), as BilledCost - and the same figure as
-- EffectiveCost, since GCP has no prepaid commitments to amortize. FOCUS side:
-- SUM(BilledCost) and SUM(EffectiveCost) of the rows this run wrote. The days are the ones
-- the conversion replaced; their rows in cloud_cost_reconciliation are replaced (DELETE +
-- INSERT). The calling step compares the two sides and fails beyond a cent.
CREATE OR REPLACE PROCEDURE `{project_id}.{dataset}`.sp_cloud_2_reconcile_gcp(
  p_org_slug STRING,
  p_start_date DATE,
  p_end_date DATE,
  p_pipeline_id STRING,
  p_credential_id STRING,
  p_run_id STRING
)
BEGIN
  -- Replace the slice: delete it, then insert. The caller wraps the CALL in a
  -- transaction (BEGIN TRANSACTION; CALL ...; COMMIT TRANSACTION), so readers never
  -- see it half done. (Not MERGE ... ON FALSE: on the emulator that join costs
  -- target rows x source rows.)
  DELETE FROM `{project_id}.{dataset}.cloud_cost_reconciliation` AS target
  WHERE target.x_org_slug = p_org_slug
    AND target.x_pipeline_id = p_pipeline_id
    AND target.x_credential_id = p_credential_id
    AND (target.x_pipeline_run_date BETWEEN p_start_date AND p_end_date
      OR target.x_pipeline_run_date IN (
        SELECT x_pipeline_run_date FROM `{project_id}.{dataset}.gcp_billing_export_raw`
        WHERE x_org_slug = p_org_slug AND x_pipeline_id = p_pipeline_id
          AND x_credential_id = p_credential_id AND x_run_id = p_run_id));

  INSERT INTO `{project_id}.{dataset}.cloud_cost_reconciliation` (
    billing_currency, source_rows, focus_rows, source_billed_cost, focus_billed_cost,
    source_effective_cost, focus_effective_cost,
    x_org_slug, x_pipeline_id, x_credential_id, x_pipeline_run_date, x_run_id,
    x_ingested_at, x_source_system
  )
  SELECT
    currency, source_rows, focus_rows, source_billed_cost, focus_billed_cost,
    source_effective_cost, focus_effective_cost,
    p_org_slug, p_pipeline_id, p_credential_id, day, p_run_id,
    CURRENT_TIMESTAMP(), 'gcp'
  FROM (
    SELECT
      COALESCE(s.day, f.day) AS day,
      COALESCE(s.currency, f.currency) AS currency,
      IFNULL(s.n, 0) AS source_rows,
      IFNULL(f.n, 0) AS focus_rows,
      -- PARSE_NUMERIC here, whole nano-units in the conversion: a fault in either path
      -- cannot hide by hitting both sides alike
      PARSE_NUMERIC(FORMAT('%.9f', IFNULL(s.billed, 0))) AS source_billed_cost,
      IFNULL(f.billed, 0) AS focus_billed_cost,
      PARSE_NUMERIC(FORMAT('%.9f', IFNULL(s.billed, 0))) AS source_effective_cost,
      IFNULL(f.effective, 0) AS focus_effective_cost
    FROM (
      SELECT
        costs.day,
        costs.currency,
        costs.n,
        costs.cost + IFNULL(credits.amount, 0) AS billed
      FROM (
        SELECT x_pipeline_run_date AS day, currency, COUNT(*) AS n, SUM(cost) AS cost
        FROM `{project_id}.{dataset}.gcp_billing_export_raw`
        WHERE x_org_slug = p_org_slug AND x_pipeline_id = p_pipeline_id
          AND x_credential_id = p_credential_id
          AND x_run_id = p_run_id
        GROUP BY day, currency
      ) AS costs
      LEFT JOIN (
        SELECT r.x_pipeline_run_date AS day, r.currency, SUM(c.amount) AS amount
        FROM `{project_id}.{dataset}.gcp_billing_export_raw` AS r, UNNEST(r.credits) AS c
        WHERE r.x_org_slug = p_org_slug AND r.x_pipeline_id = p_pipeline_id
          AND r.x_credential_id = p_credential_id
          AND r.x_run_id = p_run_id
        GROUP BY day, currency
      ) AS credits
        ON credits.day = costs.day AND credits.currency = costs.currency
    ) AS s
    FULL OUTER JOIN (
      SELECT
        x_pipeline_run_date AS day,
        BillingCurrency AS currency,
        COUNT(*) AS n,
        SUM(BilledCost) AS billed,
        SUM(EffectiveCost) AS effective
      FROM `{project_id}.{dataset}.cost_data_standard_1_3`
      WHERE x_org_slug = p_org_slug AND x_pipeline_id = p_pipeline_id
        AND x_credential_id = p_credential_id AND x_run_id = p_run_id
      GROUP BY day, currency
    ) AS f
    ON s.day = f.day AND s.currency = f.currency
  ) AS source;
END;
