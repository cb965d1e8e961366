"""Analytics over the task history: `hydrogen events tail` and `hydrogen events export`.

Pure parts (no I/O): `time_window` (TIME values), `flat_event` (chain event records as typed
flat rows), `columns` (the typed columns of each export), `tail_record` (decoding, filters and
lines of the tail). Adapters: `tail_consumer` (Kafka), `history_store` (Postgres),
`export_file` (Parquet and CSV with pyarrow), `endpoints` (where Kafka and Postgres are).
The SQL views are in hydrogen/db/migrations/0005_analytics_views.sql; docs/analytics.md
shows all of it.
"""
