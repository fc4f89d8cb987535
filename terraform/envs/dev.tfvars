project_id = "pipelines-dev"
env        = "dev"
step_runner = {
  memory          = "512Mi"
  timeout_seconds = 300
  max_instances   = 3
}
