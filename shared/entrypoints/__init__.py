"""How requests arrive: HTTP (the api function), Pub/Sub (the event functions) and
the `pipelines` CLI. Thin: decode, call a handler, encode.

May import domain, config, handlers and adapters (cli/ also bootstrap); no other layer
imports entrypoints."""
