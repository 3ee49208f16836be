"""Hands each process a distinct id-generator node from a shared counter."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.core.ids import NODE_BITS
from smsbridge.store.schema import id_nodes


async def allocate_node(conn: AsyncConnection) -> int:
    result = await conn.execute(
        update(id_nodes)
        .where(id_nodes.c.id == 1)
        .values(counter=id_nodes.c.counter + 1)
        .returning(id_nodes.c.counter)
    )
    return int(result.scalar_one()) % (1 << NODE_BITS)
