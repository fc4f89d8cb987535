project_id = "pipelines-stage"
env        = "stage"
