"""Groups of contacts: names, member counts, membership."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store.bulk import chunked
from smsbridge.store.contacts import Row
from smsbridge.store.schema import group_members, groups
from smsbridge.store.upsert import insert_missing


async def group_rows(
    conn: AsyncConnection, account_id: int, group_ids: Sequence[int] | None = None
) -> list[Row]:
    """Groups with their member counts (all of the account's, or the given ones)."""
    members = (
        select(func.count())
        .where(group_members.c.group_id == groups.c.id)
        .scalar_subquery()
        .label("members")
    )
    query = select(groups, members).where(groups.c.account_id == account_id)
    if group_ids is not None:
        query = query.where(groups.c.id.in_(list(group_ids)))
    result = await conn.execute(query.order_by(groups.c.id))
    return [dict(r) for r in result.mappings()]


async def group_ids_by_name(
    conn: AsyncConnection, account_id: int, names: Sequence[str]
) -> dict[str, int]:
    if not names:
        return {}
    result = await conn.execute(
        select(groups.c.name, groups.c.id).where(
            groups.c.account_id == account_id, groups.c.name.in_(list(names))
        )
    )
    return {name: gid for name, gid in result.all()}


async def owned_group_ids(conn: AsyncConnection, account_id: int, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    result = await conn.execute(
        select(groups.c.id).where(groups.c.account_id == account_id, groups.c.id.in_(list(ids)))
    )
    return {row[0] for row in result.all()}


async def create_groups(
    conn: AsyncConnection, account_id: int, names: Sequence[str], now: int
) -> dict[str, int]:
    """Create the groups that do not exist yet; returns every name's id."""
    rows = [(account_id, name, now, now) for name in dict.fromkeys(names)]
    await insert_missing(conn, groups, ("account_id", "name", "created_at", "updated_at"), rows)
    return await group_ids_by_name(conn, account_id, names)


async def rename_group(conn: AsyncConnection, group_id: int, name: str, now: int) -> None:
    await conn.execute(
        update(groups).where(groups.c.id == group_id).values(name=name, updated_at=now)
    )


async def delete_group(conn: AsyncConnection, group_id: int) -> None:
    await conn.execute(delete(group_members).where(group_members.c.group_id == group_id))
    await conn.execute(delete(groups).where(groups.c.id == group_id))


async def add_members(conn: AsyncConnection, group_id: int, contact_ids: Sequence[int]) -> None:
    await insert_missing(
        conn, group_members, ("group_id", "contact_id"), [(group_id, c) for c in contact_ids]
    )


async def remove_members(conn: AsyncConnection, group_id: int, contact_ids: Sequence[int]) -> int:
    removed = 0
    for chunk in chunked(list(contact_ids)):
        result = await conn.execute(
            delete(group_members).where(
                group_members.c.group_id == group_id, group_members.c.contact_id.in_(list(chunk))
            )
        )
        removed += result.rowcount or 0
    return removed
