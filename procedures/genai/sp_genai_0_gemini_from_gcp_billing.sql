-- sp_genai_0_gemini_from_gcp_billing: Gemini SKUs of the org's raw GCP billing export copy
-- (gcp_billing_export_raw, filled by the gcp.bq_etl step of the same run) -> the GenAI raw
-- tables genai_payg_usage_raw and genai_payg_costs_raw with provider 'gemini'. BigQuery to
-- BigQuery: no row passes through Python.
--
-- Reads the run's lineage slice of the raw copy (org, pipeline, credential, usage days of the
-- window) and replaces the same slice of both GenAI raw tables with MERGE ... ON FALSE (atomic
-- per table; no transaction: the emulator cannot hold one in a procedure body). Reruns leave
-- the same rows. Then sp_genai_1 / sp_genai_3 consolidate and convert them like any vendor.
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
-- and argument check, the run-slice replace of every MERGE below, and the SKU classification
-- both MERGEs read.
-- fragment procedure_start: common/procedure_start.sql
-- fragment delete_run_slice: common/delete_run_slice.sql
-- fragment gemini_skus: genai/gemini_billing_skus.sql
{procedure_start}

  -- The same classification (gemini_billing_skus.sql, under c) feeds both MERGEs.
  MERGE `{project_id}.{dataset}.genai_payg_usage_raw` AS target
  USING (
    SELECT
      g.usage_date,
      'gemini' AS provider,
      g.service AS endpoint,
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
      p_org_slug AS x_org_slug,
      p_pipeline_id AS x_pipeline_id,
      p_credential_id AS x_credential_id,
      g.usage_date AS x_pipeline_run_date,
      p_run_id AS x_run_id,
      CURRENT_TIMESTAMP() AS x_ingested_at,
      'gemini' AS x_source_system
    FROM (
      SELECT
        c.x_pipeline_run_date AS usage_date,
        c.service.description AS service,
        c.project.id AS sub_account_id,
        c.model,
        c.token_type,
        IF(c.token_type IN ('input', 'cached_input', 'output')
          AND LOWER(IFNULL(c.usage.unit, '')) IN ('count', 'token', 'tokens'),
          'Tokens', c.usage.unit) AS unit,
        c.usage,
        c.usage_start_time
      FROM (
        {gemini_skus}
      ) AS c
      WHERE IFNULL(c.usage.amount, 0) > 0
    ) AS g
    GROUP BY g.usage_date, g.service, g.sub_account_id, g.model, g.token_type, g.unit
  ) AS source
  {delete_run_slice}
  WHEN NOT MATCHED THEN INSERT (
    usage_date, provider, endpoint, sub_account_id, model, token_type, unit, quantity,
    pricing_quantity, pricing_unit, bucket_start,
    x_org_slug, x_pipeline_id, x_credential_id, x_pipeline_run_date, x_run_id,
    x_ingested_at, x_source_system
  ) VALUES (
    usage_date, provider, endpoint, sub_account_id, model, token_type, unit, quantity,
    pricing_quantity, pricing_unit, bucket_start,
    x_org_slug, x_pipeline_id, x_credential_id, x_pipeline_run_date, x_run_id,
    x_ingested_at, x_source_system
  );

  MERGE `{project_id}.{dataset}.genai_payg_costs_raw` AS target
  USING (
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
      g.currency,
      FORMAT('%.9f', SUM(g.net_cost)) AS source_amount,
      'provider' AS cost_source,
      p_org_slug AS x_org_slug,
      p_pipeline_id AS x_pipeline_id,
      p_credential_id AS x_credential_id,
      g.usage_date AS x_pipeline_run_date,
      p_run_id AS x_run_id,
      CURRENT_TIMESTAMP() AS x_ingested_at,
      'gemini' AS x_source_system
    FROM (
      SELECT
        c.x_pipeline_run_date AS usage_date,
        c.project.id AS sub_account_id,
        c.sku.description AS line_item,
        c.model,
        c.token_type,
        c.cost_type,
        UPPER(c.currency) AS currency,
        c.cost + IFNULL((SELECT SUM(cr.amount) FROM UNNEST(c.credits) AS cr), 0) AS net_cost
      FROM (
        {gemini_skus}
      ) AS c
    ) AS g
    GROUP BY g.usage_date, g.sub_account_id, g.line_item, g.model, g.token_type, g.cost_type,
      g.currency
  ) AS source
  {delete_run_slice}
  WHEN NOT MATCHED THEN INSERT (
    cost_date, provider, sub_account_id, line_item, model, token_type, cost_type,
    service_tier, amount, currency, source_amount, cost_source,
    x_org_slug, x_pipeline_id, x_credential_id, x_pipeline_run_date, x_run_id,
    x_ingested_at, x_source_system
  ) VALUES (
    cost_date, provider, sub_account_id, line_item, model, token_type, cost_type,
    service_tier, amount, currency, source_amount, cost_source,
    x_org_slug, x_pipeline_id, x_credential_id, x_pipeline_run_date, x_run_id,
    x_ingested_at, x_source_system
  );
END;
