"""Developer tools: the local emulator stack, emulator helpers and `make package`.
Not in the function zips."""
