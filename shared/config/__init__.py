"""Config readers: the pipeline catalog, plans, pricing, settings, the tables of an
org's dataset, periodic jobs and provider service maps.

May import domain, ports and ``shared.REPO_ROOT``; never adapters, handlers or processors.
"""
