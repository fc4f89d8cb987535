"""What every Pub/Sub-triggered function does around its handler."""
