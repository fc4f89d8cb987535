"""Pure logic: config model, DAG, states, quota decisions, FOCUS columns and rules, billing
layouts, pricing. No I/O, and imports nothing of the project outside this folder (a test
checks).
"""
