-- sp_cloud_2_reconcile_azure: Azure source totals vs the run's FOCUS totals, per usage day and
-- billing currency: the shared template ../sp_cloud_2_reconcile.sql with the signature and
-- this source's totals (reconcile_source_totals_azure.sql).
-- fragment procedure_start: common/procedure_start.sql
-- fragment late_days: cloud/no_late_days.sql
-- fragment reconcile: cloud/sp_cloud_2_reconcile.sql
-- fragment source_totals: cloud/azure/reconcile_source_totals_azure.sql
{reconcile}
