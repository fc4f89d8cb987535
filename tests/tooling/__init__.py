"""Tests of the repository rather than of the product: its layout (import cycles, a pure
domain), packaging, the terraform declarations, the benchmark report and the developer
emulator tooling. `make test` runs them with the rest; `make unit` leaves them out."""
