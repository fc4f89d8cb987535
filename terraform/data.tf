resource "google_firestore_database" "default" {
  name                    = "(default)"
  location_id             = var.firestore_location
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = var.env == "prod" ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  depends_on              = [google_project_service.apis]
}

# list_runs (shared/adapters/firestore/state.py): org_slug [+ provider] [+ status],
# newest first, paged on created_at.
locals {
  run_list_filters = {
    org                 = []
    org_provider        = ["provider"]
    org_status          = ["status"]
    org_provider_status = ["provider", "status"]
  }
}

resource "google_firestore_index" "runs" {
  for_each    = local.run_list_filters
  database    = google_firestore_database.default.name
  collection  = "runs"
  query_scope = "COLLECTION"

  fields {
    field_path = "org_slug"
    order      = "ASCENDING"
  }
  dynamic "fields" {
    for_each = each.value
    content {
      field_path = fields.value
      order      = "ASCENDING"
    }
  }
  fields {
    field_path = "created_at"
    order      = "DESCENDING"
  }
  fields {
    field_path = "__name__"
    order      = "DESCENDING"
  }
}

# list_fires (shared/adapters/firestore/ops.py): [status] [+ schedule_id], oldest first.
locals {
  fire_list_indexes = {
    all             = { filters = [], order = ["fire_time", "schedule_id"] }
    status          = { filters = ["status"], order = ["fire_time", "schedule_id"] }
    schedule        = { filters = ["schedule_id"], order = ["fire_time"] }
    status_schedule = { filters = ["status", "schedule_id"], order = ["fire_time"] }
  }
  # list_backfills and list_deliveries: one org's, newest first.
  newest_first_indexes = {
    backfills               = ["created_at", "backfill_id"]
    notification_deliveries = ["at", "seq"]
  }
}

resource "google_firestore_index" "schedule_fires" {
  for_each    = local.fire_list_indexes
  database    = google_firestore_database.default.name
  collection  = "schedule_fires"
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = each.value.filters
    content {
      field_path = fields.value
      order      = "ASCENDING"
    }
  }
  dynamic "fields" {
    for_each = each.value.order
    content {
      field_path = fields.value
      order      = "ASCENDING"
    }
  }
}

resource "google_firestore_index" "newest_first" {
  for_each    = local.newest_first_indexes
  database    = google_firestore_database.default.name
  collection  = each.key
  query_scope = "COLLECTION"

  fields {
    field_path = "org_slug"
    order      = "ASCENDING"
  }
  dynamic "fields" {
    for_each = each.value
    content {
      field_path = fields.value
      order      = "DESCENDING"
    }
  }
}

# Org datasets ({org}_{env}) are created by onboarding (shared/handlers/onboarding.py) in
# var.bigquery_location, so none is declared here: the step runner's account may create
# datasets and write tables (see iam.tf).

resource "google_kms_key_ring" "pipelines" {
  name     = "pipelines-${var.env}"
  location = var.kms_location
}

resource "google_kms_crypto_key" "credentials" {
  name            = "provider-credentials"
  key_ring        = google_kms_key_ring.pipelines.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = "7776000s" # 90 days; old versions still decrypt
  lifecycle {
    prevent_destroy = true # destroying it makes every stored credential unreadable
  }
}
