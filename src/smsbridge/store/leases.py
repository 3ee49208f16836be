"""Named leases: jobs that one process at a time runs (the webhook publisher)."""

from __future__ import annotations

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store.schema import leases
from smsbridge.store.upsert import insert_ignore


async def take(conn: AsyncConnection, name: str, holder: str, *, now: int, until: int) -> bool:
    """Take or extend the lease ``name`` for ``holder`` until ``until``; False while another
    holder's lease runs."""
    await conn.execute(insert_ignore(conn, leases).values(name=name, holder=holder, until=0))
    result = await conn.execute(
        update(leases)
        .where(leases.c.name == name, or_(leases.c.holder == holder, leases.c.until < now))
        .values(holder=holder, until=until)
    )
    return bool(result.rowcount)


async def release(conn: AsyncConnection, name: str, holder: str) -> None:
    await conn.execute(
        update(leases).where(leases.c.name == name, leases.c.holder == holder).values(until=0)
    )
