"""CLI verbs by feature area: each module here defines ``register(subparsers)``. They may
import what the CLI may (domain, handlers, bootstrap) and the CLI's own modules.

``shared/entrypoints/cli/main.py`` imports every module in this package, so a new area adds its
commands without touching the core CLI.
"""
