"""Application services, written against the ports: dispatch, step runs and coordination
(the three functions), cancel, schedules, backfills, notifications, quota upkeep, and the
FOCUS check, export and reconciliation reads.

May import domain, ports, config, a few adapters that hold no connection (the SQL files,
notification channels, outage mapping) and the processor registry (run_step); never
bootstrap or entrypoints.
"""
