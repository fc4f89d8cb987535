variable "project_id" {
  description = "GCP project that hosts the service."
  type        = string
}

variable "env" {
  description = "dev | stage | prod: suffix of every org dataset ({org}_{env}) and of resource names."
  type        = string
  validation {
    condition     = contains(["dev", "stage", "prod"], var.env)
    error_message = "env must be dev, stage or prod."
  }
}

variable "region" {
  description = "Region of the functions, Pub/Sub triggers and scheduler jobs."
  type        = string
  default     = "europe-west1"
}

variable "firestore_location" {
  description = "Firestore database location (a region or multi-region such as eur3)."
  type        = string
  default     = "eur3"
}

variable "bigquery_location" {
  description = "Location of the org datasets the service creates."
  type        = string
  default     = "EU"
}

variable "kms_location" {
  type    = string
  default = "europe-west1"
}

variable "source_dir" {
  description = "Where `make package` wrote the function zips."
  type        = string
  default     = "../dist/functions"
}

variable "api_public" {
  description = "Let anyone reach the HTTP API (it authenticates every call with an org API key)."
  type        = bool
  default     = true
}

variable "step_runner" {
  description = "Sizing of the step runner, the only function that does heavy work."
  type = object({
    memory          = string
    timeout_seconds = number
    max_instances   = number
  })
  default = {
    memory          = "1Gi"
    timeout_seconds = 540
    max_instances   = 20
  }
}

variable "scheduled_runs" {
  description = "Cloud Scheduler jobs: each tick publishes one run request to scheduler-ticks."
  type = map(object({
    schedule   = string # cron, in time_zone
    time_zone  = optional(string, "Etc/UTC")
    org_slug   = string
    pipeline   = string # provider/domain/pipeline
    parameters = optional(map(string), {})
  }))
  default = {}
}
