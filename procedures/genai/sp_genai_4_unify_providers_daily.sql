-- sp_genai_4_unify_providers_daily: every GenAI provider of an org in one daily table
-- (configs/genai/unified/consolidate.yml).
--
-- Each vendor pipeline (configs/genai/payg/*.yml) writes its own slice of
-- genai_usage_daily and converts that slice to FOCUS. This procedure copies, of the org,
-- rows of every such slice for the usage days p_start_date to p_end_date into
-- genai_usage_daily_unified (one row per provider, sub-account, model, day and token type,
-- naming the pipeline, credential and run it came from), replacing the own slice of the
-- unified run there: a DELETE of the slice, then an INSERT of its rows, in the one
-- transaction the generic.procedure_executor step CALLs it in.
--
-- It writes no FOCUS rows of its own: the FOCUS rows of the vendor pipelines are the same money,
-- and a second copy would count every GenAI cost twice in cost_data_standard_1_3. Instead
-- it first proves the FOCUS table holds exactly that money: per usage day, provider and
-- currency, SUM(BilledCost) of the GenAI FOCUS rows equals SUM(cost) of the daily rows. A
-- difference (a vendor run whose conversion failed, rows written by hand) fails the call
-- with the first such day named, before anything is written.
-- Included (-- fragment lines): the signature and its argument check, the run's slice
-- (the DELETE's filter), the lineage of the rows and the columns of the table.
-- fragment procedure_start: common/procedure_start.sql
-- fragment slice_filter: common/slice_filter.sql
-- fragment run_lineage: common/run_lineage.sql
-- fragment unified_daily_columns: genai/unified_daily_columns.sql
{procedure_start}

  SELECT IF(
    COUNT(*) = 0,
    0,
    ERROR(CONCAT(
      'genai_usage_daily and cost_data_standard_1_3 disagree on ', CAST(COUNT(*) AS STRING),
      ' provider-day(s); first: ', MIN(CONCAT(
        provider, ' on ', CAST(usage_date AS STRING), ' in ', currency,
        ': daily cost ', CAST(IFNULL(daily_cost, 0) AS STRING),
        ', FOCUS BilledCost ', CAST(IFNULL(focus_cost, 0) AS STRING)
      )),
      ' (re-run the pipeline of that provider for the day)'
    ))
  ) AS focus_matches_daily
  FROM (
    SELECT
      COALESCE(d.usage_date, f.usage_date) AS usage_date,
      COALESCE(d.provider, f.provider) AS provider,
      COALESCE(d.currency, f.currency) AS currency,
      d.cost AS daily_cost,
      f.cost AS focus_cost
    FROM (
      SELECT usage_date, provider, currency, SUM(cost) AS cost
      FROM `{project_id}.{dataset}.genai_usage_daily`
      WHERE x_org_slug = p_org_slug
        AND x_pipeline_run_date BETWEEN p_start_date AND p_end_date
      GROUP BY usage_date, provider, currency
    ) AS d
    FULL OUTER JOIN (
      SELECT
        x_pipeline_run_date AS usage_date, x_genai_provider AS provider,
        BillingCurrency AS currency, SUM(BilledCost) AS cost
      FROM `{project_id}.{dataset}.cost_data_standard_1_3`
      WHERE x_org_slug = p_org_slug
        AND x_pipeline_run_date BETWEEN p_start_date AND p_end_date
        AND x_genai_provider IS NOT NULL
      GROUP BY usage_date, provider, currency
    ) AS f
      ON d.usage_date = f.usage_date AND d.provider = f.provider AND d.currency = f.currency
  )
  WHERE IFNULL(daily_cost, 0) != IFNULL(focus_cost, 0);

  DELETE FROM `{project_id}.{dataset}.genai_usage_daily_unified` WHERE {slice_filter};

  INSERT INTO `{project_id}.{dataset}.genai_usage_daily_unified` ({unified_daily_columns})
  SELECT {unified_daily_columns}
  FROM (
    SELECT
      d.usage_date, d.provider, d.sub_account_id, d.model, d.token_type, d.unit, d.quantity,
      d.pricing_quantity, d.pricing_unit, d.cost, d.currency, d.cost_source,
      d.x_pipeline_id AS source_pipeline_id,
      d.x_credential_id AS source_credential_id,
      d.x_run_id AS source_run_id,
      {run_lineage},
      d.usage_date AS x_pipeline_run_date,
      d.x_source_system
    FROM `{project_id}.{dataset}.genai_usage_daily` AS d
    WHERE d.x_org_slug = p_org_slug
      AND d.x_pipeline_run_date BETWEEN p_start_date AND p_end_date
  );
END;
