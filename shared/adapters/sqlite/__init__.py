"""The embedded runtime's stores on SQLite (state, ops, credentials).

May import domain, ports and the clock adapter."""
