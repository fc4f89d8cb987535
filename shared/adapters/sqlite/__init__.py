"""The embedded runtime's stores on SQLite (state, ops, credentials)."""
