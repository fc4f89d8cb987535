-- No usage day outside the run's window: the AWS, Azure, OCI and FOCUS-export conversions
-- read the window's raw rows only. Declared after ../common/procedure_start.sql so their
-- procedures share cloud/run_days.sql with GCP's (gcp/late_days.sql).
DECLARE late_days ARRAY<DATE> DEFAULT [];
