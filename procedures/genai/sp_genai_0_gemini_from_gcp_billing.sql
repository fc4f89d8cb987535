-- sp_genai_0_gemini_from_gcp_billing: Gemini SKUs of the org's raw GCP billing export copy
-- (gcp_billing_export_raw, filled by the gcp.bq_etl step of the same run) -> the GenAI raw
-- tables genai_payg_usage_raw and genai_payg_costs_raw with provider 'gemini'. BigQuery to
-- BigQuery: no row passes through Python.
--
-- Reads the run's lineage slice of the raw copy (org, pipeline, credential, usage days of the
-- window) and replaces the same slice of both GenAI raw tables: per table a DELETE of the
-- slice, then an INSERT of its rows. The generic.procedure_executor step CALLs it in one
-- transaction (the emulator cannot hold one in a procedure body), so a failure leaves both
-- tables as they were. Reruns leave the same rows. Then sp_genai_1 / sp_genai_3 consolidate
-- and convert them like any vendor.
--
-- What is taken: rows whose service.description is 'Gemini API', 'Generative Language API' or
-- 'Vertex AI' AND whose sku.description names Gemini (the word "gemini"). Every other SKU of
-- those services (Vertex AI training, prediction nodes, Imagen, partner models ...) and every
-- other service is left to the cloud billing pipeline.
--
-- Mapping (sku.description, e.g. "Gemini 2.5 Pro Input Tokens", "Gemini 2.0 Flash Output
-- Tokens", "Gemini 2.5 Flash Cached Input Tokens"):
-- * model = "gemini <version> [pro|flash|lite|ultra|nano|live|image|preview ...]" from the
--   SKU, lower case, spaces -> '-' ("gemini-2.5-pro", "gemini-2.5-flash-lite");
-- * token_type = 'cache_storage' (cache + storage), 'cached_input' (cache/cached), 'output',
--   'input', else the rest of the SKU description as a slug (e.g. 'grounding_requests');
-- * unit 'Tokens' when usage.unit is a count of tokens ('count', 'token(s)'), else the
--   export's usage.unit; quantity = usage.amount (rounded to an integer), pricing_quantity =
--   tokens / 1e6 ('1M Tokens', as for every GenAI vendor) or the export's
--   amount_in_pricing_units in its pricing_unit;
-- * sub_account_id = project.id, endpoint = service.description, line_item =
--   sku.description, cost_type = the export's cost_type;
-- * amount = cost + SUM(credits.amount) (the net cost, as BilledCost of the GCP FOCUS
--   conversion), in the export's billing currency, exact to 1e-9: floats become NUMERIC via
--   integer nano-units divided by NUMERIC '1000000000' (CAST AS NUMERIC and fractional
--   NUMERIC literals lose digits on the emulator; see sp_cloud_1_convert_to_focus_gcp).
-- Included files (-- fragment lines, read by the procedure executor): the shared signature
-- and argument check, the SKU classification both INSERTs read, the run's slice (the
-- DELETEs' filter, and the classification's read), the lineage of their rows and the
-- column lists of the two tables.
-- fragment procedure_start: common/procedure_start.sql
-- fragment slice_filter: common/slice_filter.sql
-- fragment gemini_skus: genai/gemini_billing_skus.sql
-- fragment run_lineage: common/run_lineage.sql
-- fragment usage_raw_columns: genai/usage_raw_columns.sql
-- fragment costs_raw_columns: genai/costs_raw_columns.sql
{procedure_start}

  -- The same classification (gemini_billing_skus.sql, under g) feeds both INSERTs.
  DELETE FROM `{project_id}.{dataset}.genai_payg_usage_raw` WHERE {slice_filter};

  INSERT INTO `{project_id}.{dataset}.genai_payg_usage_raw` ({usage_raw_columns})
  SELECT {usage_raw_columns}
  FROM (
    SELECT
      g.usage_date,
      'gemini' AS provider,
      g.service_name AS endpoint,
      g.sub_account_id,
      g.model,
      g.token_type,
      g.unit,
      CAST(ROUND(SUM(g.usage.amount)) AS INT64) AS quantity,
      IF(g.unit = 'Tokens',
        SAFE_DIVIDE(CAST(ROUND(SUM(g.usage.amount)) AS INT64), NUMERIC '1000000'),
        SAFE_DIVIDE(CAST(ROUND(SUM(g.usage.amount_in_pricing_units) * 1e9) AS INT64),
          NUMERIC '1000000000')) AS pricing_quantity,
      IF(g.unit = 'Tokens', '1M Tokens', MAX(g.usage.pricing_unit)) AS pricing_unit,
      MIN(g.usage_start_time) AS bucket_start,
      {run_lineage},
      g.usage_date AS x_pipeline_run_date,
      'gemini' AS x_source_system
    FROM ({gemini_skus}) AS g
    WHERE IFNULL(g.usage.amount, 0) > 0
    GROUP BY g.usage_date, g.service_name, g.sub_account_id, g.model, g.token_type, g.unit
  );

  DELETE FROM `{project_id}.{dataset}.genai_payg_costs_raw` WHERE {slice_filter};

  INSERT INTO `{project_id}.{dataset}.genai_payg_costs_raw` ({costs_raw_columns})
  SELECT {costs_raw_columns}
  FROM (
    SELECT
      g.usage_date AS cost_date,
      'gemini' AS provider,
      g.sub_account_id,
      g.line_item,
      g.model,
      g.token_type,
      g.cost_type,
      CAST(NULL AS STRING) AS service_tier,
      SAFE_DIVIDE(CAST(ROUND(SUM(g.net_cost) * 1e9) AS INT64), NUMERIC '1000000000') AS amount,
      g.billing_currency AS currency,
      FORMAT('%.9f', SUM(g.net_cost)) AS source_amount,
      'provider' AS cost_source,
      {run_lineage},
      g.usage_date AS x_pipeline_run_date,
      'gemini' AS x_source_system
    FROM ({gemini_skus}) AS g
    GROUP BY g.usage_date, g.sub_account_id, g.line_item, g.model, g.token_type, g.cost_type,
      g.billing_currency
  );
END;
