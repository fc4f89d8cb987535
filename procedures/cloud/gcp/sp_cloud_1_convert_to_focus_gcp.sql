-- sp_cloud_1_convert_to_focus_gcp: the org's raw GCP billing export -> FOCUS 1.3 rows.
--
-- Converts the usage days this run's extract wrote (raw rows carrying p_run_id: the window
-- plus any day reopened by late rows, late_days.sql) and replaces those days, and the
-- window's, of the run's slice of cost_data_standard_1_3 (a rerun leaves the same rows);
-- the step CALLs it and the reconciliation in one transaction that fails, leaving the
-- table as it was, when a day does not reconcile.
-- One FOCUS row per export row. Mapping decisions (where FOCUS leaves a choice):
-- * BilledCost = EffectiveCost = cost + SUM(credits.amount). GCP applies every credit
--   (CUD, sustained use, free tier, promotions) on the invoice line it belongs to, so the
--   invoice total is cost + credits (Google's own FOCUS view does the same). Commitment
--   fees are billed daily in arrears, not prepaid: nothing to amortize, so EffectiveCost
--   equals BilledCost on every row, the CUD fee row included.
-- * ListCost = cost_at_list (cost when absent); ContractedCost = cost (negotiated price,
--   before credits); ContractedUnitPrice = price.effective_price (detailed export) else
--   cost / usage.amount_in_pricing_units; ListUnitPrice = cost_at_list / that quantity.
-- * ChargeCategory from cost_type: regular -> Usage ('Commitment ...' SKUs, the CUD fee ->
--   Purchase, Recurring); tax -> Tax; rounding_error -> Adjustment; adjustment -> Adjustment,
--   or Credit when it is a net credit that corrects nothing (goodwill, promotional).
--   ChargeClass 'Correction' for adjustments of type *_CORRECTION (they fix usage already
--   invoiced). ChargeFrequency: Usage and Tax 'Usage-Based', Purchase 'Recurring',
--   Credit/Adjustment 'One-Time'.
-- * CommitmentDiscountId = subscription.instance_id (fee rows) or the id of the CUD credit
--   on covered usage; Status 'Used' on covered usage; Category 'Spend' for dollar-based
--   CUDs, else 'Usage'; PricingCategory 'Committed' with a commitment, 'Dynamic' for
--   Spot/Preemptible SKUs, else 'Standard' (Usage and Purchase rows only).
-- * ServiceProviderName/ProviderName/PublisherName = the Marketplace seller for
--   THIRD_PARTY_* rows, else 'Google Cloud'; HostProviderName 'Google Cloud';
--   InvoiceIssuerName 'Google' (the seller for THIRD_PARTY_AGENCY, which it invoices).
-- * SubAccount = the project (not the billing account); BillingAccountName is not in the
--   export (null). BillingPeriod = invoice.month (UTC month, end exclusive).
-- * ResourceType = the service host and the resource's collection in resource.global_name
--   (the full resource name, '//<service host>/<collection>/<id>/.../<collection>/<id>'):
--   e.g. 'compute.googleapis.com/instances' (resource_type.sql); null without a global
--   name (standard export, rows not tied to a resource). CommitmentDiscountQuantity/Unit stay null: the export
--   carries CUD credits and fees as money but not the commitment's quantity or unit.
-- * Tags = user labels, then system labels, project labels and resource-manager tags
--   ('namespace/key'), the first one winning on a key clash.
-- * PricingCurrency 'USD' with the USD figures (cost / currency_conversion_rate): GCP
--   prices SKUs in USD and converts to the billing currency.
-- * Money and quantities leave FLOAT64 through ../focus_from_float.sql (whole nano-units).
-- Included (-- fragment lines): the signature and argument check, the days late rows
-- reopen, the slice delete and the head of the INSERT with the FOCUS columns' FLOAT64 ->
-- NUMERIC rounding (replace_focus_slice_float), the columns no native conversion fills,
-- the lineage of the rows, the resource type, the service category and mapping, and the
-- run's own raw rows.
-- fragment procedure_start: common/procedure_start.sql
-- fragment late_days: cloud/gcp/late_days.sql
-- fragment replace_focus_slice_float: cloud/replace_focus_slice_float.sql
-- fragment focus_left_null: common/focus_left_null.sql
-- fragment run_lineage: common/run_lineage.sql
-- fragment resource_type: cloud/gcp/resource_type.sql
-- fragment service_category: cloud/service_category.sql
-- fragment service_mapping: cloud/service_mapping.sql
-- fragment run_filter: common/run_filter.sql
-- fragment run_credits: cloud/gcp/run_credits.sql
{procedure_start}
  {late_days}

  {replace_focus_slice_float}
    SELECT
      c.net_cost AS BilledCost,
      c.billing_account_id AS BillingAccountId,
      CAST(NULL AS STRING) AS BillingAccountName,
      'Billing Account' AS BillingAccountType,
      c.currency AS BillingCurrency,
      TIMESTAMP(DATE_ADD(c.invoice_month, INTERVAL 1 MONTH)) AS BillingPeriodEnd,
      TIMESTAMP(c.invoice_month) AS BillingPeriodStart,
      c.charge_category AS ChargeCategory,
      IF(ENDS_WITH(IFNULL(c.adjustment_type, ''), '_CORRECTION'), 'Correction', NULL)
        AS ChargeClass,
      IFNULL(c.adjustment_description, CONCAT(c.service_description, ': ', c.sku_description))
        AS ChargeDescription,
      IF(c.charge_category IN ('Usage', 'Tax'), 'Usage-Based',
        IF(c.charge_category = 'Purchase', 'Recurring', 'One-Time')) AS ChargeFrequency,
      c.usage_end_time AS ChargePeriodEnd,
      c.usage_start_time AS ChargePeriodStart,
      IF(c.commitment_id IS NULL, NULL,
        IF(c.cud_type = 'COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE'
          OR REGEXP_CONTAINS(c.sku_description, r'(?i)dollar|spend'), 'Spend', 'Usage'))
        AS CommitmentDiscountCategory,
      c.commitment_id AS CommitmentDiscountId,
      IF(c.commitment_id IS NULL, NULL, IFNULL(c.cud_name, c.sku_description))
        AS CommitmentDiscountName,
      IF(c.commitment_id IS NOT NULL AND c.charge_category = 'Usage', 'Used', NULL)
        AS CommitmentDiscountStatus,
      IF(c.commitment_id IS NULL, NULL, 'Committed Use Discount') AS CommitmentDiscountType,
      -- no commitment quantity or unit in the export (header)
      CAST(NULL AS FLOAT64) AS CommitmentDiscountQuantity,
      CAST(NULL AS STRING) AS CommitmentDiscountUnit,
      IF(c.charge_category != 'Usage', NULL, c.usage_amount) AS ConsumedQuantity,
      IF(c.charge_category = 'Usage' AND c.usage_amount IS NOT NULL, c.usage_unit, NULL)
        AS ConsumedUnit,
      c.cost AS ContractedCost,
      c.contracted_unit_price AS ContractedUnitPrice,
      c.net_cost AS EffectiveCost,
      'Google Cloud' AS HostProviderName,
      CAST(NULL AS STRING) AS InvoiceId,
      IF(c.transaction_type = 'THIRD_PARTY_AGENCY', c.seller_name, 'Google') AS InvoiceIssuerName,
      IFNULL(c.cost_at_list, c.cost) AS ListCost,
      SAFE_DIVIDE(c.cost_at_list, c.pricing_quantity) AS ListUnitPrice,
      IF(c.charge_category NOT IN ('Usage', 'Purchase'), NULL,
        IF(c.commitment_id IS NOT NULL, 'Committed',
          IF(REGEXP_CONTAINS(c.sku_description, r'(?i)spot|preemptible'), 'Dynamic', 'Standard')))
        AS PricingCategory,
      IF(c.currency_conversion_rate IS NULL, NULL, 'USD') AS PricingCurrency,
      SAFE_DIVIDE(c.contracted_unit_price, c.currency_conversion_rate)
        AS PricingCurrencyContractedUnitPrice,
      SAFE_DIVIDE(c.net_cost, c.currency_conversion_rate) AS PricingCurrencyEffectiveCost,
      SAFE_DIVIDE(SAFE_DIVIDE(c.cost_at_list, c.pricing_quantity), c.currency_conversion_rate)
        AS PricingCurrencyListUnitPrice,
      c.pricing_quantity AS PricingQuantity,
      IF(c.pricing_quantity IS NULL, NULL, c.usage_pricing_unit) AS PricingUnit,
      c.service_provider AS ProviderName,
      c.service_provider AS PublisherName,
      IFNULL(c.location_region, c.location_location) AS RegionId,
      IFNULL(c.location_region, c.location_location) AS RegionName,
      NULLIF(c.location_zone, '') AS AvailabilityZone,
      c.resource_global_name AS ResourceId,
      c.resource_name AS ResourceName,
      {resource_type},
      {service_category},
      c.service_description AS ServiceName,
      c.service_provider AS ServiceProviderName,
      c.sku_id AS SkuId,
      c.sku_description AS SkuMeter,
      IF(c.price_effective_price IS NULL, NULL, JSON_OBJECT(
        'x_EffectivePrice', c.price_effective_price,
        'x_TierStartAmount', c.price_tier_start_amount,
        'x_PriceUnit', c.price_unit,
        'x_PricingUnitQuantity', c.price_pricing_unit_quantity)) AS SkuPriceDetails,
      IF(c.price_tier_start_amount IS NULL, NULL,
        CONCAT(c.sku_id, ':tier:', CAST(c.price_tier_start_amount AS STRING))) AS SkuPriceId,
      c.proj_id AS SubAccountId,
      c.proj_name AS SubAccountName,
      IF(c.proj_id IS NULL, NULL, 'Project') AS SubAccountType,
      IF(c.tag_pairs IS NULL, NULL, PARSE_JSON(CONCAT('{', c.tag_pairs, '}'))) AS Tags,
      {focus_left_null},
      {run_lineage},
      c.x_pipeline_run_date AS x_pipeline_run_date,
      'gcp' AS x_source_system
    FROM (
      SELECT
        k.*,
        IF(k.cost_type = 'tax', 'Tax',
          IF(k.cost_type = 'rounding_error', 'Adjustment',
            IF(k.cost_type = 'adjustment',
              IF(k.net_cost < 0 AND NOT ENDS_WITH(IFNULL(k.adjustment_type, ''), '_CORRECTION'),
                'Credit', 'Adjustment'),
              IF(STARTS_WITH(IFNULL(k.sku_description, ''), 'Commitment'), 'Purchase', 'Usage'))))
          AS charge_category,
        IF(k.cost_type = 'regular', COALESCE(k.subscription_instance_id, k.cud_id), NULL)
          AS commitment_id,
        IF(k.usage_pricing_unit IS NULL, NULL, k.usage_amount_in_pricing_units)
          AS pricing_quantity,
        IF(k.usage_unit IS NULL, NULL, k.usage_quantity) AS usage_amount,
        IFNULL(k.price_effective_price,
          SAFE_DIVIDE(k.cost, NULLIF(k.usage_amount_in_pricing_units, 0))) AS contracted_unit_price,
        IF(STARTS_WITH(IFNULL(k.transaction_type, 'GOOGLE'), 'THIRD_PARTY')
          AND k.seller_name IS NOT NULL, k.seller_name, 'Google Cloud') AS service_provider,
        PARSE_DATE('%Y%m', IFNULL(k.invoice_month_text, FORMAT_TIMESTAMP('%Y%m', k.usage_start_time)))
          AS invoice_month,
        'gcp' AS mapping_provider,
        k.service_description AS service_key
      FROM (
        -- The arrays (credits, labels, tags) are aggregated by joins on the row's key
        -- (usage day, x_export_row_id) rather than one correlated subquery per row and field:
        -- one scan each, which is several times faster on BigQuery and the emulator alike.
        -- Each UNNEST reads a derived table that already holds only this run's rows and
        -- the array as a top-level column: on the emulator (DuckDB) an UNNEST beside a
        -- WHERE on the base table, or of a struct field (project.labels), becomes a
        -- correlated lateral join some 40x slower.
        -- Named leaf fields, not r.*: the emulator expands a star from its catalog, which
        -- leaves out RECORD columns; and whole RECORDs (project with its ancestry and labels)
        -- carried through the joins cost a copy each there.
        SELECT
          r.billing_account_id, r.usage_start_time, r.usage_end_time, r.cost, r.currency,
          r.currency_conversion_rate, r.cost_type, r.cost_at_list, r.transaction_type,
          r.seller_name, r.x_pipeline_run_date,
          r.service.description AS service_description,
          r.sku.id AS sku_id,
          r.sku.description AS sku_description,
          r.project.id AS proj_id,
          r.project.name AS proj_name,
          r.location.region AS location_region,
          r.location.location AS location_location,
          r.location.zone AS location_zone,
          r.resource.global_name AS resource_global_name,
          r.resource.name AS resource_name,
          r.usage.amount AS usage_quantity,
          r.usage.unit AS usage_unit,
          r.usage.amount_in_pricing_units AS usage_amount_in_pricing_units,
          r.usage.pricing_unit AS usage_pricing_unit,
          r.invoice.month AS invoice_month_text,
          r.adjustment_info.type AS adjustment_type,
          r.adjustment_info.description AS adjustment_description,
          r.price.effective_price AS price_effective_price,
          r.price.tier_start_amount AS price_tier_start_amount,
          r.price.unit AS price_unit,
          r.price.pricing_unit_quantity AS price_pricing_unit_quantity,
          r.subscription.instance_id AS subscription_instance_id,
          r.cost + IFNULL(cr.credit_total, 0) AS net_cost,
          cr.cud_id,
          cr.cud_name,
          cr.cud_type,
          tg.tag_pairs
        FROM `{project_id}.{dataset}.gcp_billing_export_raw` AS r
        LEFT JOIN (
          SELECT
            rc.day,
            rc.row_id,
            SUM(c.amount) AS credit_total,
            MIN(IF(STARTS_WITH(c.type, 'COMMITTED_USAGE_DISCOUNT'), c.id, NULL)) AS cud_id,
            MIN(IF(STARTS_WITH(c.type, 'COMMITTED_USAGE_DISCOUNT'), c.full_name, NULL))
              AS cud_name,
            MIN(IF(STARTS_WITH(c.type, 'COMMITTED_USAGE_DISCOUNT'), c.type, NULL)) AS cud_type
          FROM {run_credits}
          GROUP BY day, row_id
        ) AS cr
          ON cr.day = r.x_pipeline_run_date AND cr.row_id = r.x_export_row_id
        LEFT JOIN (
          SELECT
            day,
            row_id,
            STRING_AGG(CONCAT(TO_JSON_STRING(k), ':', TO_JSON_STRING(SUBSTR(v, 2))), ',')
              AS tag_pairs
          FROM (
            -- first source wins on a clash: the value carries its source's rank in front
            SELECT day, row_id, k, MIN(v) AS v
            FROM (
              SELECT rl.day, rl.row_id, l.key AS k, CONCAT('1', IFNULL(l.value, '')) AS v
              FROM (
                SELECT x_pipeline_run_date AS day, x_export_row_id AS row_id, labels AS a
                FROM `{project_id}.{dataset}.gcp_billing_export_raw`
                WHERE {run_filter}
              ) AS rl, UNNEST(rl.a) AS l
              UNION ALL
              SELECT rl.day, rl.row_id, l.key, CONCAT('2', IFNULL(l.value, ''))
              FROM (
                SELECT x_pipeline_run_date AS day, x_export_row_id AS row_id, system_labels AS a
                FROM `{project_id}.{dataset}.gcp_billing_export_raw`
                WHERE {run_filter}
              ) AS rl, UNNEST(rl.a) AS l
              UNION ALL
              SELECT rl.day, rl.row_id, l.key, CONCAT('3', IFNULL(l.value, ''))
              FROM (
                SELECT x_pipeline_run_date AS day, x_export_row_id AS row_id, project.labels AS a
                FROM `{project_id}.{dataset}.gcp_billing_export_raw`
                WHERE {run_filter}
              ) AS rl, UNNEST(rl.a) AS l
              UNION ALL
              SELECT rl.day, rl.row_id,
                IF(g.namespace IS NULL, g.key, CONCAT(g.namespace, '/', g.key)),
                CONCAT('4', IFNULL(g.value, ''))
              FROM (
                SELECT x_pipeline_run_date AS day, x_export_row_id AS row_id, tags AS a
                FROM `{project_id}.{dataset}.gcp_billing_export_raw`
                WHERE {run_filter}
              ) AS rl, UNNEST(rl.a) AS g
            )
            GROUP BY day, row_id, k
          )
          GROUP BY day, row_id
        ) AS tg
          ON tg.day = r.x_pipeline_run_date AND tg.row_id = r.x_export_row_id
        WHERE {run_filter}
      ) AS k
    ) AS c
    {service_mapping}
  ));
END;
