-- sp_genai_1_consolidate_usage_daily: raw GenAI usage + costs -> one row per org, provider,
-- sub-account (project/workspace), model, day and token type.
--
-- Reads the run's lineage slice of `genai_payg_usage_raw` (quantities) and
-- `genai_payg_costs_raw` (money: reported by the provider, or priced from
-- configs/pricing by genai.payg_cost) and replaces the same slice of `genai_usage_daily`:
-- a DELETE of the slice, then an INSERT of its rows, in the one transaction the
-- generic.procedure_executor step CALLs it in (the emulator cannot hold one in a procedure
-- body), so a failure leaves the slice as it was. A FULL OUTER JOIN keeps both sides:
-- usage with no cost line (cost 0, cost_source 'none') and cost with no usage (quantity
-- null, e.g. a tool fee), so the day's cost here always equals the raw cost rows' sum.
-- Included (-- fragment lines): the signature (p_org_slug, p_start_date, p_end_date,
-- p_pipeline_id, p_credential_id, p_run_id) with its argument check, the run's slice (the
-- reads and the DELETE), the lineage of the rows and the table's columns.
-- fragment procedure_start: common/procedure_start.sql
-- fragment slice_filter: common/slice_filter.sql
-- fragment run_lineage: common/run_lineage.sql
-- fragment usage_daily_columns: genai/usage_daily_columns.sql
{procedure_start}

  DELETE FROM `{project_id}.{dataset}.genai_usage_daily` WHERE {slice_filter};

  INSERT INTO `{project_id}.{dataset}.genai_usage_daily` ({usage_daily_columns})
  SELECT {usage_daily_columns}
  FROM (
    WITH usage_agg AS (
      SELECT
        u.usage_date, u.provider, u.sub_account_id, u.model, u.token_type,
        MAX(u.unit) AS unit,
        MAX(u.pricing_unit) AS pricing_unit,
        SUM(u.quantity) AS quantity,
        SUM(u.pricing_quantity) AS pricing_quantity
      FROM `{project_id}.{dataset}.genai_payg_usage_raw` AS u
      WHERE {slice_filter}
      GROUP BY u.usage_date, u.provider, u.sub_account_id, u.model, u.token_type
    ),
    cost_agg AS (
      SELECT
        c.cost_date AS usage_date, c.provider, c.sub_account_id, c.model, c.token_type,
        c.currency,
        MAX(c.cost_source) AS cost_source,
        SUM(c.amount) AS cost
      FROM `{project_id}.{dataset}.genai_payg_costs_raw` AS c
      WHERE {slice_filter}
      GROUP BY c.cost_date, c.provider, c.sub_account_id, c.model, c.token_type, c.currency
    ),
    slice_currency AS (
      SELECT IFNULL(MAX(currency), 'USD') AS currency FROM cost_agg
    )
    SELECT
      COALESCE(u.usage_date, c.usage_date) AS usage_date,
      COALESCE(u.provider, c.provider) AS provider,
      COALESCE(u.sub_account_id, c.sub_account_id) AS sub_account_id,
      COALESCE(u.model, c.model) AS model,
      COALESCE(u.token_type, c.token_type) AS token_type,
      u.unit,
      u.quantity,
      u.pricing_quantity,
      u.pricing_unit,
      IFNULL(c.cost, 0) AS cost,
      COALESCE(c.currency, (SELECT currency FROM slice_currency)) AS currency,
      IFNULL(c.cost_source, 'none') AS cost_source,
      {run_lineage},
      COALESCE(u.usage_date, c.usage_date) AS x_pipeline_run_date,
      COALESCE(u.provider, c.provider) AS x_source_system
    FROM usage_agg AS u
    FULL OUTER JOIN cost_agg AS c
      ON u.usage_date = c.usage_date
      AND u.provider = c.provider
      AND IFNULL(u.sub_account_id, '') = IFNULL(c.sub_account_id, '')
      AND IFNULL(u.model, '') = IFNULL(c.model, '')
      AND u.token_type = c.token_type
  );
END;
