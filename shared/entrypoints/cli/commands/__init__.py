"""CLI verbs by feature area: each module here defines ``register(subparsers)``.

``shared/entrypoints/cli/main.py`` imports every module in this package, so a new area adds its
commands without touching the core CLI.
"""
