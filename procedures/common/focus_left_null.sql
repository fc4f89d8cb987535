-- FOCUS 1.3 columns no native conversion fills (typed nulls, in a converter's SELECT list):
-- no source carries a split cost allocation, a capacity reservation or a contract.
CAST(NULL AS JSON) AS AllocatedMethodDetails, CAST(NULL AS STRING) AS AllocatedMethodId,
CAST(NULL AS STRING) AS AllocatedResourceId, CAST(NULL AS STRING) AS AllocatedResourceName,
CAST(NULL AS JSON) AS AllocatedTags, CAST(NULL AS STRING) AS CapacityReservationId,
CAST(NULL AS STRING) AS CapacityReservationStatus, CAST(NULL AS JSON) AS ContractApplied
