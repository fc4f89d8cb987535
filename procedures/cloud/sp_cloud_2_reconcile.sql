-- sp_cloud_2_reconcile_<provider>: source totals vs FOCUS totals per usage day and billing
-- currency, one template for every provider, included (-- fragment reconcile) by each
-- <provider>/sp_cloud_2_reconcile_<provider>.sql beside the signature
-- (../common/procedure_start.sql), the days late rows reopen (late_days: gcp/late_days.sql
-- or no_late_days.sql) and its source_totals fragment
-- <provider>/reconcile_source_totals_<provider>.sql (one row per day and currency: day,
-- currency, n, billed, effective, source_system), the only part that differs.
--
-- FOCUS side: SUM(BilledCost) and SUM(EffectiveCost) of the rows this run's conversion
-- wrote to cost_data_standard_1_3, in the same transaction (the step CALLs both, then
-- cloud/assert_reconciled.sql fails the transaction beyond a cent, so the rows and these
-- totals are kept or dropped together). The days are the window and the late days; their
-- rows in cloud_cost_reconciliation are replaced (DELETE + INSERT). A row's
-- x_source_system is its source's (both sides name the same one: the FOCUS rows carry
-- their source rows' system).
-- fragment run_filter: common/run_filter.sql
-- fragment run_days: cloud/run_days.sql
-- fragment lineage_columns: common/lineage_columns.sql
-- fragment run_lineage: common/run_lineage.sql
{procedure_start}
  {late_days}

  -- Replace the slice: delete it, then insert. The caller wraps the CALL in a
  -- transaction, so readers never see it half done. (Not MERGE ... ON FALSE: on the
  -- emulator that join costs target rows x source rows.)
  DELETE FROM `{project_id}.{dataset}.cloud_cost_reconciliation`
  WHERE x_org_slug = p_org_slug AND x_pipeline_id = p_pipeline_id
    AND x_credential_id = p_credential_id AND {run_days};

  INSERT INTO `{project_id}.{dataset}.cloud_cost_reconciliation` (
    billing_currency, source_rows, focus_rows, source_billed_cost, focus_billed_cost,
    source_effective_cost, focus_effective_cost,
    {lineage_columns}
  )
  SELECT
    currency, source_rows, focus_rows, source_billed_cost, focus_billed_cost,
    source_effective_cost, focus_effective_cost,
    {lineage_columns}
  FROM (
    SELECT
      COALESCE(s.currency, f.currency) AS currency,
      IFNULL(s.n, 0) AS source_rows,
      IFNULL(f.n, 0) AS focus_rows,
      -- PARSE_NUMERIC here, whole nano-units in the conversion: a fault in either path
      -- cannot hide by hitting both sides alike
      PARSE_NUMERIC(FORMAT('%.9f', IFNULL(s.billed, 0))) AS source_billed_cost,
      IFNULL(f.billed, 0) AS focus_billed_cost,
      PARSE_NUMERIC(FORMAT('%.9f', IFNULL(s.effective, 0))) AS source_effective_cost,
      IFNULL(f.effective, 0) AS focus_effective_cost,
      {run_lineage},
      COALESCE(s.day, f.day) AS x_pipeline_run_date,
      COALESCE(s.source_system, f.source_system) AS x_source_system
    FROM
{source_totals} AS s
    FULL OUTER JOIN (
      SELECT
        x_pipeline_run_date AS day,
        BillingCurrency AS currency,
        COUNT(*) AS n,
        SUM(BilledCost) AS billed,
        SUM(EffectiveCost) AS effective,
        MIN(x_source_system) AS source_system
      FROM `{project_id}.{dataset}.cost_data_standard_1_3`
      WHERE {run_filter} AND {run_days}
      GROUP BY day, currency
    ) AS f
    ON s.day = f.day AND s.currency = f.currency
  ) AS source;
END;
