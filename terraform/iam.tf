# One account per function role, each with only what its code touches.
locals {
  runtime_accounts = {
    api         = "HTTP API: orgs and runs in Firestore, publishes step requests"
    step-runner = "Runs steps: BigQuery jobs and tables, decrypts provider credentials"
    coordinator = "Records step outcomes in Firestore, publishes next steps"
    dispatcher  = "Dispatches Pub/Sub and scheduled run requests"
    maintenance = "Quota rollovers, stale-slot sweep, schedules tick, meta tables catch-up"
  }
  # Firestore has no finer IAM than the project.
  firestore_users = ["api", "step-runner", "coordinator", "dispatcher", "maintenance"]
  # Where runs, schedules and deliveries change, they are mirrored to the BigQuery meta
  # tables (organizations.pipeline_*, each org's org_notification_history).
  meta_mirror_accounts = ["api", "coordinator", "dispatcher", "maintenance"]
}

resource "google_service_account" "runtime" {
  for_each     = local.runtime_accounts
  account_id   = "pipelines-${each.key}-${var.env}"
  display_name = each.value
}

resource "google_service_account" "trigger" {
  account_id   = "pipelines-trigger-${var.env}"
  display_name = "Eventarc: invokes the Pub/Sub-triggered functions"
}

resource "google_project_iam_member" "firestore" {
  for_each = toset(local.firestore_users)
  project  = var.project_id
  role     = "roles/datastore.user"
  member   = google_service_account.runtime[each.value].member
}

# Org datasets are created at onboarding, so dataset-level grants cannot be written here.
resource "google_project_iam_member" "step_runner_bigquery" {
  for_each = toset(["roles/bigquery.jobUser", "roles/bigquery.dataEditor"])
  project  = var.project_id
  role     = each.value
  member   = google_service_account.runtime["step-runner"].member
}

resource "google_project_iam_member" "meta_mirror_bigquery" {
  for_each = {
    for pair in setproduct(local.meta_mirror_accounts, ["roles/bigquery.jobUser", "roles/bigquery.dataEditor"]) :
    "${pair[0]}/${pair[1]}" => { account = pair[0], role = pair[1] }
  }
  project = var.project_id
  role    = each.value.role
  member  = google_service_account.runtime[each.value.account].member
}

resource "google_kms_crypto_key_iam_member" "decrypt" {
  crypto_key_id = google_kms_crypto_key.credentials.id
  role          = "roles/cloudkms.cryptoKeyDecrypter"
  member        = google_service_account.runtime["step-runner"].member
}

resource "google_kms_crypto_key_iam_member" "encrypt" {
  crypto_key_id = google_kms_crypto_key.credentials.id
  role          = "roles/cloudkms.cryptoKeyEncrypter"
  member        = google_service_account.runtime["api"].member
}

# Eventarc needs the trigger account to receive events; Pub/Sub must mint its tokens.
resource "google_project_iam_member" "trigger_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.trigger.member
}

resource "google_service_account_iam_member" "pubsub_token_creator" {
  service_account_id = google_service_account.trigger.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}
