project_id = "pipelines-prod"
env        = "prod"
step_runner = {
  memory          = "2Gi"
  timeout_seconds = 540
  max_instances   = 50
}
