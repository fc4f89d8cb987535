"""The HTTP API the api function serves, and its OpenAPI document.

May import domain, handlers and adapters (the outage mapping); never bootstrap: the
function passes the services in."""
