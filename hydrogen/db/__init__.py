"""The Postgres schema, as versioned SQL migrations applied in order."""
