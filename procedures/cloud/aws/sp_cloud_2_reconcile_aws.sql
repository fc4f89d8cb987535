-- sp_cloud_2_reconcile_aws: AWS source totals vs the run's FOCUS totals, per usage day and
-- billing currency: the shared template ../sp_cloud_2_reconcile.sql with the signature and
-- this source's totals (reconcile_source_totals_aws.sql).
-- fragment procedure_start: common/procedure_start.sql
-- fragment late_days: cloud/no_late_days.sql
-- fragment reconcile: cloud/sp_cloud_2_reconcile.sql
-- fragment source_totals: cloud/aws/reconcile_source_totals_aws.sql
{reconcile}
