"""The HTTP API the api function serves, and its OpenAPI document."""
