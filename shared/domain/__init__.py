"""Pure logic: config model, DAG, states, bus messages, quota decisions, FOCUS columns and
rules, billing layouts, pricing. No I/O.

May import only the standard library, third-party packages and this folder: nothing else
of the project (tests/tooling/test_layout.py checks).
"""
