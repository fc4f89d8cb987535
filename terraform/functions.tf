resource "google_storage_bucket" "sources" {
  name                        = "${var.project_id}-pipelines-${var.env}-sources"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
}

# One zip per source directory (`make package`); the object name carries its hash so a
# code change redeploys the functions built from it.
resource "google_storage_bucket_object" "source" {
  for_each = local.sources
  bucket   = google_storage_bucket.sources.name
  name     = "${each.value}-${filemd5("${var.source_dir}/${each.value}.zip")}.zip"
  source   = "${var.source_dir}/${each.value}.zip"
}

resource "google_cloudfunctions2_function" "functions" {
  for_each = local.functions
  name     = "pipelines-${replace(each.key, "_", "-")}-${var.env}"
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = each.value.entry_point
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source[each.value.source].name
      }
    }
  }

  service_config {
    service_account_email = google_service_account.runtime[each.value.sa].email
    environment_variables = local.runtime_env
    available_memory      = each.key == "step_runner" ? var.step_runner.memory : "512Mi"
    timeout_seconds       = each.key == "step_runner" ? var.step_runner.timeout_seconds : 120
    max_instance_count    = each.key == "step_runner" ? var.step_runner.max_instances : 10
    ingress_settings      = each.value.topic == null ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"
  }

  dynamic "event_trigger" {
    for_each = each.value.topic == null ? [] : [each.value.topic]
    content {
      trigger_region        = var.region
      event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
      pubsub_topic          = google_pubsub_topic.topics[event_trigger.value].id
      retry_policy          = "RETRY_POLICY_RETRY" # a raised exception = redelivery
      service_account_email = google_service_account.trigger.email
    }
  }

  depends_on = [google_project_service.apis]
}

# The HTTP API checks an org API key on every call; the platform lets anyone reach it.
resource "google_cloud_run_service_iam_member" "api_public" {
  count    = var.api_public ? 1 : 0
  location = var.region
  service  = google_cloudfunctions2_function.functions["api"].service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Eventarc pushes with the trigger account: it may invoke the event-driven functions only.
resource "google_cloud_run_service_iam_member" "trigger_invoker" {
  for_each = { for k, f in local.functions : k => f if f.topic != null }
  location = var.region
  service  = google_cloudfunctions2_function.functions[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.trigger.member
}
