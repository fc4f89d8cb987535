# The code's view of the deployment, kept in one place. tests/unit/test_terraform.py checks
# it against the code: local.topics == shared.domain.messages.Topic and local.functions ==
# shared.devtools.stack.FUNCTIONS (names, sources, entry points, trigger topics).
locals {
  topics = [
    "run-requests", "step-requests", "step-events", "notifications", "scheduler-ticks",
    "quota-reset-daily", "quota-reset-monthly", "stale-sweep", "schedules-tick", "meta-catch-up",
  ]

  # Periodic jobs (shared/config/jobs.py): Cloud Scheduler publishes to the job's topic (UTC).
  jobs = {
    quota-reset-daily   = { entry_point = "reset_daily_quotas", schedule = "0 0 * * *" }
    quota-reset-monthly = { entry_point = "reset_monthly_quotas", schedule = "0 0 1 * *" }
    stale-sweep         = { entry_point = "reset_stale_concurrent_counts", schedule = "*/15 * * * *" }
    schedules-tick      = { entry_point = "schedules_tick", schedule = "* * * * *" }
    meta-catch-up       = { entry_point = "meta_catch_up", schedule = "7 * * * *" }
  }

  functions = {
    api                           = { source = "api", entry_point = "api", topic = null, sa = "api" }
    step_runner                   = { source = "step_runner", entry_point = "step_runner", topic = "step-requests", sa = "step-runner" }
    coordinator                   = { source = "coordinator", entry_point = "coordinator", topic = "step-events", sa = "coordinator" }
    run_requests                  = { source = "dispatcher", entry_point = "run_requests", topic = "run-requests", sa = "dispatcher" }
    scheduler_tick                = { source = "dispatcher", entry_point = "scheduler_tick", topic = "scheduler-ticks", sa = "dispatcher" }
    reset_daily_quotas            = { source = "maintenance", entry_point = "reset_daily_quotas", topic = "quota-reset-daily", sa = "maintenance" }
    reset_monthly_quotas          = { source = "maintenance", entry_point = "reset_monthly_quotas", topic = "quota-reset-monthly", sa = "maintenance" }
    reset_stale_concurrent_counts = { source = "maintenance", entry_point = "reset_stale_concurrent_counts", topic = "stale-sweep", sa = "maintenance" }
    schedules_tick                = { source = "maintenance", entry_point = "schedules_tick", topic = "schedules-tick", sa = "maintenance" }
    meta_catch_up                 = { source = "maintenance", entry_point = "meta_catch_up", topic = "meta-catch-up", sa = "maintenance" }
  }

  sources = toset([for f in local.functions : f.source])

  runtime_env = {
    PIPELINES_RUNTIME     = "gcp"
    PIPELINES_PROJECT_ID  = var.project_id
    PIPELINES_ENV         = var.env
    PIPELINES_HOME        = "/tmp/pipelines"
    PIPELINES_KMS_KEY     = google_kms_crypto_key.credentials.id
    PIPELINES_BQ_LOCATION = var.bigquery_location
  }

  apis = [
    "cloudfunctions.googleapis.com",
    "run.googleapis.com",
    "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com",
    "eventarc.googleapis.com",
    "pubsub.googleapis.com",
    "firestore.googleapis.com",
    "bigquery.googleapis.com",
    "cloudkms.googleapis.com",
    "cloudscheduler.googleapis.com",
  ]
}

resource "google_project_service" "apis" {
  for_each           = toset(local.apis)
  service            = each.value
  disable_on_destroy = false
}

data "google_project" "this" {}
