-- sp_cloud_2_reconcile_gcp: GCP source totals vs the run's FOCUS totals, per usage day and
-- billing currency: the shared template ../sp_cloud_2_reconcile.sql with the signature and
-- this source's totals (reconcile_source_totals_gcp.sql).
-- fragment procedure_start: common/procedure_start.sql
-- fragment late_days: cloud/gcp/late_days.sql
-- fragment reconcile: cloud/sp_cloud_2_reconcile.sql
-- fragment source_totals: cloud/gcp/reconcile_source_totals_gcp.sql
{reconcile}
