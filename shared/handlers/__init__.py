"""Application services, written against the ports only: dispatch, step runs and
coordination (the three functions), cancel, schedules, backfills, notifications, and the
FOCUS check, export and reconciliation reads. May import domain, ports and config.
"""
