"""The warehouse port on BigQuery (and bqemulator), and the SQL files it runs.

May import domain, ports and ``shared.REPO_ROOT`` (where procedures/ lies)."""
