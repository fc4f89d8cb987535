"""The cloud runtime's stores on Firestore (state, ops, credentials)."""
