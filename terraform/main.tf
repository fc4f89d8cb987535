# The code's view of the deployment, kept in one place. tests/unit/test_terraform.py checks
# it against the code: local.topics == shared.domain.messages.Topic and local.functions ==
# shared.stack.FUNCTIONS (names, sources, entry points, trigger topics).
locals {
  topics = ["run-requests", "step-requests", "step-events", "notifications", "scheduler-ticks"]

  functions = {
    api            = { source = "api", entry_point = "api", topic = null, sa = "api" }
    step_runner    = { source = "step_runner", entry_point = "step_runner", topic = "step-requests", sa = "step-runner" }
    coordinator    = { source = "coordinator", entry_point = "coordinator", topic = "step-events", sa = "coordinator" }
    run_requests   = { source = "dispatcher", entry_point = "run_requests", topic = "run-requests", sa = "dispatcher" }
    scheduler_tick = { source = "dispatcher", entry_point = "scheduler_tick", topic = "scheduler-ticks", sa = "dispatcher" }
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
