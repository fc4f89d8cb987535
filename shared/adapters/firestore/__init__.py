"""The cloud runtime's stores on Firestore (state, ops, credentials).

May import domain, ports and the clock adapter."""
