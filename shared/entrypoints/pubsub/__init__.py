"""What every Pub/Sub-triggered function does around its handler.

May import domain, config and adapters (the Pub/Sub bus); never handlers: each function
passes its own."""
