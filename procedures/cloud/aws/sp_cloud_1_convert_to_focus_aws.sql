-- sp_cloud_1_convert_to_focus_aws: the org's raw AWS CUR 2.0 rows -> FOCUS 1.3 rows.
--
-- Replaces the window's usage days of the run's slice of cost_data_standard_1_3 with the
-- converted rows (a rerun leaves the same rows); the step CALLs it and the reconciliation
-- in one transaction that fails, leaving the table as it was, when a day does not
-- reconcile. One FOCUS row per CUR line item.
-- Mapping decisions (where FOCUS leaves a choice):
-- * BilledCost = line_item_unblended_cost: what the invoice shows for the line (covered RI
--   usage is 0 there, a Savings Plan's covered usage is offset by its SavingsPlanNegation
--   line, discounts and credits are lines of their own), so SUM per bill_invoice_id is the
--   invoice.
-- * EffectiveCost (amortized), by line_item_line_item_type: SavingsPlanCoveredUsage ->
--   savings_plan_savings_plan_effective_cost; DiscountedUsage -> reservation_effective_cost;
--   SavingsPlanRecurringFee -> total_commitment_to_date - used_commitment (the unused part);
--   RIFee -> unused amortized upfront fee + unused recurring fee; SavingsPlanNegation,
--   SavingsPlanUpfrontFee and an RI's upfront Fee -> 0 (their cost is spread over the usage);
--   everything else -> unblended cost. A covered line whose report lacks the effective-cost
--   column (a legacy report without the reservation/ or savingsPlan/ group) keeps its
--   unblended cost: the file carries no amortization to apply, and EffectiveCost is never
--   null.
-- * ChargeCategory: Usage, DiscountedUsage, SavingsPlanCoveredUsage, SavingsPlanNegation ->
--   Usage; Fee, RIFee, SavingsPlanUpfrontFee, SavingsPlanRecurringFee -> Purchase; Tax -> Tax;
--   Credit, Refund, EdpDiscount, PrivateRateDiscount, BundledDiscount, Discount -> Credit;
--   anything else -> Adjustment. Refund rows are ChargeClass 'Correction' (they fix usage
--   already invoiced). ChargeFrequency: Usage rows, Tax and discounts 'Usage-Based'; RIFee and
--   SavingsPlanRecurringFee 'Recurring'; Fee/SavingsPlanUpfrontFee, Credit, Refund 'One-Time'.
-- * CommitmentDiscountId = reservation ARN (Category 'Usage', Type 'Reserved Instance') or
--   Savings Plan ARN ('Spend', 'Savings Plan'), on Usage and Purchase rows; Status 'Used' on
--   covered usage (and its negation). PricingCategory 'Committed' with a commitment,
--   'Dynamic' for pricing_term Spot, else 'Standard' (Usage and Purchase rows only).
-- * CommitmentDiscountQuantity/Unit (FOCUS 1.3: only on Usage and Purchase rows with a
--   commitment and a SkuPriceId; spec appendix "Commitment Discounts"): a Savings Plan is
--   spend-based, so its unit is the billing currency (line_item_currency_code) and the
--   quantity an amount of commitment: savings_plan_savings_plan_effective_cost on covered
--   usage (the commitment it consumed), null on its SavingsPlanNegation (which consumes
--   none and has no unit price), savings_plan_total_commitment_to_date on the
--   SavingsPlanRecurringFee (the commitment eligible in that charge period). A Reserved
--   Instance is usage-based: unit 'Hour', quantity line_item_usage_amount (pricing_unit
--   'Hrs') on DiscountedUsage (hours covered) and RIFee (reserved hours in the period).
--   'Hour' and not 'Normalized Hour': the CUR columns we read carry no normalized amounts,
--   so size-flexible coverage counts hours of the covered instance size. Left null (no
--   reliable source column): the one-time upfront Fee / SavingsPlanUpfrontFee (the term's
--   total quantity is not on the line), and any row without pricing_rate_id.
-- * Unit prices: ListUnitPrice = pricing_public_on_demand_rate, else the line's unblended
--   rate (a fee's rate has no public price; ListCost falls back the same way).
--   ContractedUnitPrice = the unblended rate, except on commitment-covered usage
--   (DiscountedUsage, SavingsPlanCoveredUsage), where it is the on-demand rate: FOCUS's
--   contracted price excludes commitment discounts, and the CUR shows no negotiated one.
--   A negative rate (a SavingsPlanNegation's) is not a price: FOCUS unit prices are never
--   negative, the sign is the cost's. ListCost / ContractedCost = those prices x
--   PricingQuantity (../../common/focus_conform.sql), and a row lacking either price has no
--   SkuPriceId, so no CommitmentDiscountQuantity either (a negation's would be 0 anyway).
-- * ResourceType, from line_item_resource_id in AWS's ARN vocabulary '<service>:<type>':
--   an ARN's service and resource-type segment ('rds:db', 'lambda:function'; S3 buckets,
--   SNS topics and SQS queues have no type segment: 's3:bucket' (or 's3:accesspoint'),
--   'sns:topic', 'sqs:queue'); a bare EC2 id by its documented prefix (i- 'ec2:instance', vol-, snap-,
--   ami-, eni-, nat-, eipalloc-); a bare id on an AmazonS3 line 's3:bucket'. Anything else
--   stays null rather than guessed. CapacityReservationId/Status stay null: the CUR
--   columns loaded (shared/domain/cloud_billing.py) carry no capacity_reservation_* fields.
-- * ConsumedQuantity = line_item_usage_amount on Usage rows except negations (which would
--   count the usage twice); PricingQuantity/Unit = usage amount / pricing_unit.
-- * ServiceName = product.product_name (else the product code); ServiceCategory by product
--   code from configs/system/mappings/aws_services.yml. Marketplace rows
--   (bill_billing_entity 'AWS Marketplace'): ServiceProviderName/PublisherName = the seller
--   (line_item_legal_entity), HostProviderName 'AWS'. InvoiceIssuerName =
--   bill_invoicing_entity.
-- * BillingAccount = payer account; SubAccount = usage (linked) account. Tags =
--   resource_tags as delivered (CUR 2.0 keys: user_*, aws_*).
-- * Money and quantities leave FLOAT64 through ../focus_from_float.sql (whole nano-units).
-- * No PricingCurrency: the CUR columns loaded carry no pricing currency of their own.
-- Included (-- fragment lines): the signature and argument check, the days late rows
-- reopen, the slice delete and the head of the INSERT with the FOCUS columns' FLOAT64 ->
-- NUMERIC rounding (replace_focus_slice_float), the columns no native conversion fills, the lineage of the
-- rows, the service category and mapping, and the slice.
-- fragment procedure_start: common/procedure_start.sql
-- fragment late_days: cloud/no_late_days.sql
-- fragment replace_focus_slice_float: cloud/replace_focus_slice_float.sql
-- fragment focus_left_null: common/focus_left_null.sql
-- fragment run_lineage: common/run_lineage.sql
-- fragment service_category: cloud/service_category.sql
-- fragment service_mapping: cloud/service_mapping.sql
-- fragment slice_filter: common/slice_filter.sql
{procedure_start}
  {late_days}

  {replace_focus_slice_float}
    SELECT
      c.line_item_unblended_cost AS BilledCost,
      c.bill_payer_account_id AS BillingAccountId,
      c.bill_payer_account_name AS BillingAccountName,
      'Payer Account' AS BillingAccountType,
      c.line_item_currency_code AS BillingCurrency,
      c.bill_billing_period_end_date AS BillingPeriodEnd,
      c.bill_billing_period_start_date AS BillingPeriodStart,
      c.charge_category AS ChargeCategory,
      IF(c.line_item_line_item_type = 'Refund', 'Correction', NULL) AS ChargeClass,
      c.line_item_line_item_description AS ChargeDescription,
      IF(c.line_item_line_item_type IN ('RIFee', 'SavingsPlanRecurringFee'), 'Recurring',
        IF(c.line_item_line_item_type IN ('Fee', 'SavingsPlanUpfrontFee', 'Credit', 'Refund'),
          'One-Time', 'Usage-Based')) AS ChargeFrequency,
      c.line_item_usage_end_date AS ChargePeriodEnd,
      c.line_item_usage_start_date AS ChargePeriodStart,
      IF(c.commitment_id IS NULL, NULL,
        IF(c.is_savings_plan, 'Spend', 'Usage')) AS CommitmentDiscountCategory,
      c.commitment_id AS CommitmentDiscountId,
      IF(c.commitment_id IS NULL, NULL,
        REGEXP_EXTRACT(c.commitment_id, r'[^/:]+$')) AS CommitmentDiscountName,
      IF(c.commitment_id IS NULL, NULL, c.commitment_quantity) AS CommitmentDiscountQuantity,
      IF(c.commitment_id IS NOT NULL AND c.charge_category = 'Usage', 'Used', NULL)
        AS CommitmentDiscountStatus,
      IF(c.commitment_id IS NULL, NULL,
        IF(c.is_savings_plan, 'Savings Plan', 'Reserved Instance')) AS CommitmentDiscountType,
      IF(c.commitment_id IS NULL OR c.commitment_quantity IS NULL, NULL,
        IF(c.is_savings_plan, c.line_item_currency_code, 'Hour')) AS CommitmentDiscountUnit,
      IF(c.charge_category = 'Usage' AND c.line_item_line_item_type != 'SavingsPlanNegation'
        AND c.pricing_unit IS NOT NULL, c.line_item_usage_amount, NULL) AS ConsumedQuantity,
      IF(c.charge_category = 'Usage' AND c.line_item_line_item_type != 'SavingsPlanNegation'
        AND c.line_item_usage_amount IS NOT NULL, c.pricing_unit, NULL) AS ConsumedUnit,
      c.line_item_unblended_cost AS ContractedCost,
      c.contracted_rate AS ContractedUnitPrice,
      c.effective_cost AS EffectiveCost,
      'AWS' AS HostProviderName,
      c.bill_invoice_id AS InvoiceId,
      IFNULL(c.bill_invoicing_entity, 'Amazon Web Services, Inc.') AS InvoiceIssuerName,
      IFNULL(c.pricing_public_on_demand_cost, c.line_item_unblended_cost) AS ListCost,
      c.list_rate AS ListUnitPrice,
      IF(c.charge_category NOT IN ('Usage', 'Purchase'), NULL,
        IF(c.commitment_id IS NOT NULL, 'Committed',
          IF(c.pricing_term = 'Spot', 'Dynamic', 'Standard'))) AS PricingCategory,
      CAST(NULL AS STRING) AS PricingCurrency,
      CAST(NULL AS FLOAT64) AS PricingCurrencyContractedUnitPrice,
      CAST(NULL AS FLOAT64) AS PricingCurrencyEffectiveCost,
      CAST(NULL AS FLOAT64) AS PricingCurrencyListUnitPrice,
      IF(c.pricing_unit IS NULL, NULL, c.line_item_usage_amount) AS PricingQuantity,
      IF(c.line_item_usage_amount IS NULL, NULL, c.pricing_unit) AS PricingUnit,
      c.service_provider AS ProviderName,
      c.service_provider AS PublisherName,
      c.product_region_code AS RegionId,
      c.product_region_code AS RegionName,
      c.line_item_availability_zone AS AvailabilityZone,
      c.line_item_resource_id AS ResourceId,
      c.line_item_resource_id AS ResourceName,
      IF(c.arn_service IS NOT NULL,
        IF(c.arn_service = 's3', IF(c.arn_type = 'accesspoint', 's3:accesspoint', 's3:bucket'),
          IF(c.arn_service = 'sns', 'sns:topic',
            IF(c.arn_service = 'sqs', 'sqs:queue',
              IF(c.arn_type IS NULL, NULL, CONCAT(c.arn_service, ':', c.arn_type))))),
        IF(c.id_prefix = 'i', 'ec2:instance',
          IF(c.id_prefix = 'vol', 'ec2:volume',
            IF(c.id_prefix = 'snap', 'ec2:snapshot',
              IF(c.id_prefix = 'ami', 'ec2:image',
                IF(c.id_prefix = 'eni', 'ec2:network-interface',
                  IF(c.id_prefix = 'nat', 'ec2:natgateway',
                    IF(c.id_prefix = 'eipalloc', 'ec2:elastic-ip',
                      IF(c.line_item_resource_id IS NOT NULL
                        AND c.line_item_product_code = 'AmazonS3', 's3:bucket',
                        NULL))))))))) AS ResourceType,
      {service_category},
      c.service_name AS ServiceName,
      c.service_provider AS ServiceProviderName,
      c.product_sku AS SkuId,
      c.line_item_usage_type AS SkuMeter,
      IF(c.product_instance_type IS NULL, NULL, JSON_OBJECT(
        'x_InstanceType', c.product_instance_type,
        'x_PurchaseOption', c.pricing_purchase_option,
        'x_Operation', c.line_item_operation)) AS SkuPriceDetails,
      c.pricing_rate_id AS SkuPriceId,
      c.line_item_usage_account_id AS SubAccountId,
      c.line_item_usage_account_name AS SubAccountName,
      IF(c.line_item_usage_account_id IS NULL, NULL, 'Linked Account') AS SubAccountType,
      c.resource_tags AS Tags,
      {focus_left_null},
      {run_lineage},
      c.x_pipeline_run_date AS x_pipeline_run_date,
      'aws' AS x_source_system
    FROM (
      SELECT
        r.*,
        IF(r.line_item_line_item_type IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage',
            'SavingsPlanNegation'), 'Usage',
          IF(r.line_item_line_item_type IN ('Fee', 'RIFee', 'SavingsPlanUpfrontFee',
              'SavingsPlanRecurringFee'), 'Purchase',
            IF(r.line_item_line_item_type = 'Tax', 'Tax',
              IF(r.line_item_line_item_type IN ('Credit', 'Refund', 'EdpDiscount',
                  'PrivateRateDiscount', 'BundledDiscount', 'Discount'), 'Credit',
                'Adjustment')))) AS charge_category,
        IF(r.line_item_line_item_type IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage',
            'SavingsPlanNegation', 'Fee', 'RIFee', 'SavingsPlanUpfrontFee',
            'SavingsPlanRecurringFee'),
          COALESCE(r.reservation_reservation_a_r_n, r.savings_plan_savings_plan_a_r_n), NULL)
          AS commitment_id,
        r.reservation_reservation_a_r_n IS NULL
          AND r.savings_plan_savings_plan_a_r_n IS NOT NULL AS is_savings_plan,
        IF(r.line_item_line_item_type = 'SavingsPlanCoveredUsage',
          IFNULL(r.savings_plan_savings_plan_effective_cost, r.line_item_unblended_cost),
          IF(r.line_item_line_item_type = 'DiscountedUsage',
            IFNULL(r.reservation_effective_cost, r.line_item_unblended_cost),
            IF(r.line_item_line_item_type = 'SavingsPlanRecurringFee',
              IFNULL(r.savings_plan_total_commitment_to_date, 0)
                - IFNULL(r.savings_plan_used_commitment, 0),
              IF(r.line_item_line_item_type = 'RIFee',
                IFNULL(r.reservation_unused_amortized_upfront_fee_for_billing_period, 0)
                  + IFNULL(r.reservation_unused_recurring_fee, 0),
                IF(r.line_item_line_item_type IN ('SavingsPlanNegation', 'SavingsPlanUpfrontFee')
                  OR (r.line_item_line_item_type = 'Fee'
                    AND r.reservation_reservation_a_r_n IS NOT NULL),
                  0, r.line_item_unblended_cost))))) AS effective_cost,
        -- the raw commitment quantity (unit and guards in the header comment)
        IF(r.pricing_rate_id IS NULL, NULL,
          IF(r.line_item_line_item_type IN ('DiscountedUsage', 'RIFee')
              AND r.reservation_reservation_a_r_n IS NOT NULL AND r.pricing_unit = 'Hrs',
            r.line_item_usage_amount,
            IF(r.line_item_line_item_type = 'SavingsPlanCoveredUsage',
              r.savings_plan_savings_plan_effective_cost,
              IF(r.line_item_line_item_type = 'SavingsPlanRecurringFee',
                r.savings_plan_total_commitment_to_date, NULL)))) AS commitment_quantity,
        -- the unit prices (header: Unit prices); a negative rate is a negation's, not a price
        IF(IFNULL(r.pricing_public_on_demand_rate, r.line_item_unblended_rate) < 0, NULL,
          IFNULL(r.pricing_public_on_demand_rate, r.line_item_unblended_rate)) AS list_rate,
        IF(IF(r.line_item_line_item_type IN ('DiscountedUsage', 'SavingsPlanCoveredUsage'),
            r.pricing_public_on_demand_rate,
            IFNULL(r.line_item_unblended_rate, r.pricing_public_on_demand_rate)) < 0, NULL,
          IF(r.line_item_line_item_type IN ('DiscountedUsage', 'SavingsPlanCoveredUsage'),
            r.pricing_public_on_demand_rate,
            IFNULL(r.line_item_unblended_rate, r.pricing_public_on_demand_rate)))
          AS contracted_rate,
        -- arn:<partition>:<service>:<region>:<account>:<type>/<name> (or <type>:<name>)
        REGEXP_EXTRACT(r.line_item_resource_id, r'^arn:[^:]+:([^:]+):') AS arn_service,
        REGEXP_EXTRACT(r.line_item_resource_id, r'^arn:[^:]+:[^:]+:[^:]*:[^:]*:([^:/]+)[:/]')
          AS arn_type,
        REGEXP_EXTRACT(r.line_item_resource_id, r'^([a-z]+)-[0-9a-f]{8,17}$') AS id_prefix,
        IF(r.bill_billing_entity = 'AWS Marketplace',
          IFNULL(r.line_item_legal_entity, 'AWS Marketplace'), 'AWS') AS service_provider,
        COALESCE(JSON_VALUE(r.product, '$.product_name'), r.product_servicecode,
          r.line_item_product_code) AS service_name,
        'aws' AS mapping_provider,
        IFNULL(r.product_servicecode, r.line_item_product_code) AS service_key
      FROM `{project_id}.{dataset}.aws_cur_raw` AS r
      WHERE {slice_filter}
    ) AS c
    {service_mapping}
  ));
END;
