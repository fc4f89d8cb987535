-- ServiceCategory and ServiceSubcategory of a native cloud converter's row, from
-- configs/system/mappings/<provider>_services.yml (loaded into focus_service_mappings by the
-- step): the row's service mapping joined as m, the provider's '*' default as d; a service
-- neither names is 'Other'. Included in the converter's SELECT list.
COALESCE(m.service_category, d.service_category, 'Other') AS ServiceCategory,
IF(m.service_category IS NULL, IFNULL(d.service_subcategory, 'Other (Other)'),
  m.service_subcategory) AS ServiceSubcategory
