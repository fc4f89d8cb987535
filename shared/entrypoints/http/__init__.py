"""The HTTP API the ``api`` function serves: app.py (the Flask app and its error shape),
routes.py (every route, on a Blueprint), operations.py (how a route is declared, the key
checks), models.py (pydantic bodies), bodies.py (reading a request), openapi.py (the
document generated from routes and models), document.py (its checked-in output,
openapi.json, as served).

May import domain, handlers and adapters (the outage mapping); never bootstrap: the
function passes the services in."""
