"""Persistence: schema, migrations, and repositories over SQLite or PostgreSQL."""
