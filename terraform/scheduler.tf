# Each job publishes the same run request on every tick; the dispatcher derives the run id
# from the Pub/Sub message id, so a redelivered tick is the same run, a new tick a new one.
resource "google_cloud_scheduler_job" "runs" {
  for_each  = var.scheduled_runs
  name      = "pipelines-${var.env}-${each.key}"
  region    = var.region
  schedule  = each.value.schedule
  time_zone = each.value.time_zone

  pubsub_target {
    topic_name = google_pubsub_topic.topics["scheduler-ticks"].id
    data = base64encode(jsonencode({
      org_slug   = each.value.org_slug
      pipeline   = each.value.pipeline
      parameters = each.value.parameters
    }))
  }

  retry_config {
    retry_count = 3
  }
}

resource "google_pubsub_topic_iam_member" "scheduler_publisher" {
  topic  = google_pubsub_topic.topics["scheduler-ticks"].name
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-cloudscheduler.iam.gserviceaccount.com"
}

# The periodic jobs (local.jobs): the body is not read; the function acts on "now".
resource "google_cloud_scheduler_job" "maintenance" {
  for_each  = local.jobs
  name      = "pipelines-${var.env}-${each.key}"
  region    = var.region
  schedule  = each.value.schedule
  time_zone = "Etc/UTC"

  pubsub_target {
    topic_name = google_pubsub_topic.topics[each.key].id
    data       = base64encode(jsonencode({ job = each.key }))
  }

  retry_config {
    retry_count = 3
  }
}

resource "google_pubsub_topic_iam_member" "maintenance_scheduler_publisher" {
  for_each = local.jobs
  topic    = google_pubsub_topic.topics[each.key].name
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-cloudscheduler.iam.gserviceaccount.com"
}
