"""Adapters: each port of shared/ports.py on a real technology, one folder per technology
(sqlite/, firestore/, bigquery/, files/) and single modules for the small ones (buses,
secrets, clock, notification channels, HTTP pages, outages, the home lock).

May import domain, ports, config and other adapters; never handlers, processors,
entrypoints or bootstrap.
"""
