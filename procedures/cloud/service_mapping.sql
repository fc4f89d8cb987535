-- The service mapping a native cloud converter joins to its rows c (after FROM ... AS c):
-- the entry of configs/system/mappings/<provider>_services.yml (loaded into
-- focus_service_mappings by the step) for c.mapping_provider and c.service_key as m, that
-- provider's '*' default as d. service_category.sql reads both.
LEFT JOIN `{project_id}.{dataset}.focus_service_mappings` AS m
      ON m.provider = c.mapping_provider AND m.service_key = c.service_key
    LEFT JOIN `{project_id}.{dataset}.focus_service_mappings` AS d
      ON d.provider = c.mapping_provider AND d.service_key = '*'
