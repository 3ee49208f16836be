"""The migrations create exactly the schema the code describes, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from smsbridge.store.db import Database
from smsbridge.store.migrate import upgrade
from smsbridge.store.schema import metadata


async def test_schema_matches_migrations(database_url: str) -> None:
    await upgrade(database_url)  # idempotent on a migrated database
    db = Database.unpooled(database_url)

    def diff(sync_conn: Any) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(sync_conn), metadata))

    try:
        async with db.read() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await db.dispose()
