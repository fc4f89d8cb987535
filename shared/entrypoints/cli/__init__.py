"""The `pipelines` command line (embedded runtime)."""
