-- The Gemini SKU rows of the run's slice of the raw GCP billing export copy, classified
-- (the mapping is described in sp_genai_0_gemini_from_gcp_billing): the one classification
-- both MERGEs of that procedure read (-- fragment line there). Each row keeps the export's
-- columns and gets its usage_date, service_name, sub_account_id, line_item, model,
-- token_type, unit, net_cost and billing_currency.
-- fragment slice_filter: common/slice_filter.sql
SELECT
        s.*,
        IF(s.token_type IN ('input', 'cached_input', 'output')
          AND LOWER(IFNULL(s.usage.unit, '')) IN ('count', 'token', 'tokens'),
          'Tokens', s.usage.unit) AS unit
      FROM (
        SELECT
          k.*,
          k.x_pipeline_run_date AS usage_date,
          k.service.description AS service_name,
          k.project.id AS sub_account_id,
          k.sku.description AS line_item,
          REPLACE(k.model_words, ' ', '-') AS model,
          IF(REGEXP_CONTAINS(k.sku_text, r'cach'),
            IF(REGEXP_CONTAINS(k.sku_text, r'storage'), 'cache_storage', 'cached_input'),
            IF(REGEXP_CONTAINS(k.sku_text, r'\boutput\b'), 'output',
              IF(REGEXP_CONTAINS(k.sku_text, r'\binput\b'), 'input',
                TRIM(REGEXP_REPLACE(REPLACE(k.sku_text, IFNULL(k.model_words, ''), ''),
                  r'[^a-z0-9]+', '_'), '_')))) AS token_type,
          k.cost + IFNULL((SELECT SUM(cr.amount) FROM UNNEST(k.credits) AS cr), 0) AS net_cost,
          UPPER(k.currency) AS billing_currency
        FROM (
          SELECT
            r.*,
            LOWER(r.sku.description) AS sku_text,
            REGEXP_EXTRACT(LOWER(r.sku.description),
              r'(gemini [0-9][0-9.]*(?: (?:pro|flash|lite|flash-lite|ultra|nano|live|image|preview|exp|experimental|thinking))*)')
              AS model_words
          FROM `{project_id}.{dataset}.gcp_billing_export_raw` AS r
          WHERE {slice_filter}
            AND r.service.description IN ('Gemini API', 'Generative Language API', 'Vertex AI')
            AND REGEXP_CONTAINS(LOWER(r.sku.description), r'\bgemini\b')
        ) AS k
      ) AS s
