-- FOCUS ResourceType of a GCP export row (c.resource_global_name, the full resource name):
-- '//compute.googleapis.com/projects/p/zones/z/instances/vm' -> 'compute.googleapis.com/
-- instances', the service host and the collection before the last id; null unless the name
-- has that shape. One match test, then two short extracts at the name's two ends: one
-- extract whose group sits behind '.+' ran 3x slower than all three (RE2 tracks the group
-- across the whole name; bench/focus_conversion.py). Included in the converter's SELECT list.
IF(REGEXP_CONTAINS(c.resource_global_name, r'^//[^/]+/.+/[^/]+/[^/]+$'),
  CONCAT(REGEXP_EXTRACT(c.resource_global_name, r'^//([^/]+)/'), '/',
    REGEXP_EXTRACT(c.resource_global_name, r'([^/]+)/[^/]+$')), NULL) AS ResourceType
