"""Developer tools: the local emulator stack, emulator helpers and `make package`.
Not in the function zips.

May import any layer; nothing deployed may import it (tests/tooling/test_layout.py checks)."""
