"""The migrations create exactly the schema the code describes, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from smsbridge.store.db import Database
from smsbridge.store.migrate import upgrade
from smsbridge.store.schema import metadata


def _described(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    # The (txid, id) indexes of the event feed exist on PostgreSQL only (schema.journal).
    return not (type_ == "index" and name is not None and name.endswith("_feed"))


def _widened_number(change: Any) -> bool:
    return (
        isinstance(change, list)
        and len(change) == 1
        and change[0][0] == "modify_type"
        and change[0][2:4] == ("recipients", "to_number")
    )


async def test_schema_matches_migrations(database_url: str) -> None:
    await upgrade(database_url)  # idempotent on a migrated database
    db = Database.unpooled(database_url)

    def diff(sync_conn: Any) -> list[Any]:
        context = MigrationContext.configure(sync_conn, opts={"include_object": _described})
        return list(compare_metadata(context, metadata))

    try:
        async with db.read() as conn:
            changes = await conn.run_sync(diff)
        if db.is_sqlite:  # SQLite ignores VARCHAR lengths; 0008 widens to_number on PostgreSQL
            changes = [c for c in changes if not _widened_number(c)]
        assert changes == []
    finally:
        await db.dispose()
