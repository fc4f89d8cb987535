"""Adapters: each port of shared/ports.py on a real technology, one folder per technology
(sqlite/, firestore/, bigquery/, files/) and single modules for the small ones (buses,
secrets, clock, notification channels, HTTP pages). May import domain, ports and config.
"""
