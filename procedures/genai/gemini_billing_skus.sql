-- The Gemini SKU rows of the run's slice of the raw GCP billing export copy, each with its
-- model and token_type (the mapping is described in sp_genai_0_gemini_from_gcp_billing):
-- the one classification that both MERGEs of that procedure read (-- fragment line there).
SELECT
        k.*,
        REPLACE(k.model_words, ' ', '-') AS model,
        IF(REGEXP_CONTAINS(k.sku_text, r'cach'),
          IF(REGEXP_CONTAINS(k.sku_text, r'storage'), 'cache_storage', 'cached_input'),
          IF(REGEXP_CONTAINS(k.sku_text, r'\boutput\b'), 'output',
            IF(REGEXP_CONTAINS(k.sku_text, r'\binput\b'), 'input',
              TRIM(REGEXP_REPLACE(REPLACE(k.sku_text, IFNULL(k.model_words, ''), ''),
                r'[^a-z0-9]+', '_'), '_')))) AS token_type
      FROM (
        SELECT
          r.*,
          LOWER(r.sku.description) AS sku_text,
          REGEXP_EXTRACT(LOWER(r.sku.description),
            r'(gemini [0-9][0-9.]*(?: (?:pro|flash|lite|flash-lite|ultra|nano|live|image|preview|exp|experimental|thinking))*)')
            AS model_words
        FROM `{project_id}.{dataset}.gcp_billing_export_raw` AS r
        WHERE r.x_org_slug = p_org_slug
          AND r.x_pipeline_id = p_pipeline_id
          AND r.x_credential_id = p_credential_id
          AND r.x_pipeline_run_date BETWEEN p_start_date AND p_end_date
          AND r.service.description IN ('Gemini API', 'Generative Language API', 'Vertex AI')
          AND REGEXP_CONTAINS(LOWER(r.sku.description), r'\bgemini\b')
      ) AS k
