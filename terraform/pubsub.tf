resource "google_pubsub_topic" "topics" {
  for_each                   = toset(local.topics)
  name                       = each.value
  message_retention_duration = "86400s"
  depends_on                 = [google_project_service.apis]
}

# Poison messages (malformed, or a permanent 4xx from the handler) are published here by
# the functions themselves (shared/entrypoints/pubsub/functions.py), then acknowledged.
resource "google_pubsub_topic" "dead_letter" {
  for_each                   = toset(local.topics)
  name                       = "${each.value}-dead-letter"
  message_retention_duration = "604800s"
}

# Dead letters are kept for inspection and replay on a pull subscription.
resource "google_pubsub_subscription" "dead_letter" {
  for_each                   = google_pubsub_topic.dead_letter
  name                       = "${each.value.name}-inspect"
  topic                      = each.value.id
  message_retention_duration = "604800s"
  ack_deadline_seconds       = 60
  expiration_policy {
    ttl = "" # never expires
  }
}

# Functions publish: api/dispatcher -> step-requests; step_runner -> step-events;
# coordinator -> step-requests (next steps, retries); every consumer -> its dead-letter topic.
locals {
  publishes = {
    api         = ["step-requests"]
    step-runner = ["step-events", "step-requests-dead-letter"]
    coordinator = ["step-requests", "step-events-dead-letter"]
    dispatcher  = ["step-requests", "run-requests-dead-letter", "scheduler-ticks-dead-letter"]
    maintenance = concat(["step-requests"], [for topic in keys(local.jobs) : "${topic}-dead-letter"])
  }
  publisher_bindings = merge([
    for sa, topics in local.publishes : {
      for topic in topics : "${sa}/${topic}" => { sa = sa, topic = topic }
    }
  ]...)
  all_topics = merge(google_pubsub_topic.topics, {
    for k, t in google_pubsub_topic.dead_letter : t.name => t
  })
}

resource "google_pubsub_topic_iam_member" "publishers" {
  for_each = local.publisher_bindings
  topic    = local.all_topics[each.value.topic].name
  role     = "roles/pubsub.publisher"
  member   = google_service_account.runtime[each.value.sa].member
}
