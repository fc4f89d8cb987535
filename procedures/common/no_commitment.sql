-- The CommitmentDiscount* columns of a row bought without a commitment discount (typed
-- nulls, in a converter's SELECT list).
CAST(NULL AS STRING) AS CommitmentDiscountCategory, CAST(NULL AS STRING) AS CommitmentDiscountId,
CAST(NULL AS STRING) AS CommitmentDiscountName, CAST(NULL AS NUMERIC) AS CommitmentDiscountQuantity,
CAST(NULL AS STRING) AS CommitmentDiscountStatus, CAST(NULL AS STRING) AS CommitmentDiscountType,
CAST(NULL AS STRING) AS CommitmentDiscountUnit
