-- sp_cloud_2_reconcile_focus_export: the totals of a provider's own FOCUS export vs the
-- run's FOCUS totals, per usage day and billing currency, for every provider's export (the
-- rows carry their provider as x_source_system): the shared template
-- ../sp_cloud_2_reconcile.sql with the signature and this source's totals
-- (reconcile_source_totals_focus_export.sql).
-- fragment procedure_start: common/procedure_start.sql
-- fragment late_days: cloud/no_late_days.sql
-- fragment reconcile: cloud/sp_cloud_2_reconcile.sql
-- fragment source_totals: cloud/focus_export/reconcile_source_totals_focus_export.sql
{reconcile}
