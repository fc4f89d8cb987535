"""How requests arrive: HTTP (the api function), Pub/Sub (the event functions) and
the `pipelines` CLI. Thin: decode, call a handler, encode."""
