"""The warehouse port on BigQuery (and bqemulator), and the SQL files it runs."""
