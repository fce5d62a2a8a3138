"""The storage layer: PostgreSQL, its schema, its migrations and the embedded server. Knows nothing of front ends."""
