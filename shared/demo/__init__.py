"""`make run`'s demo and the sample data and servers it and the tests use. Not in the
function zips (shared/devtools/package.py leaves it out).

May import any layer; nothing deployed may import it (tests/tooling/test_layout.py checks)."""
