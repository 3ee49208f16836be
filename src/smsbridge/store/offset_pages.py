"""Page-number paging over the account's messages and received SMS.

The native lists page with cursors (``before_id``); APIs that page by number (``page``,
``limit``) and show a ``total`` need the count and the cursor at an offset. Both follow the
lists' own order (newest first) and filters, so ``before_id = cursor`` then reads the page.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store.schema import inbound_messages, messages, recipients


def _message_conditions(account_id: int, status: str | None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [messages.c.account_id == account_id]
    if status is not None:
        conds.append(
            select(recipients.c.id)
            .where(and_(recipients.c.message_id == messages.c.id, recipients.c.status == status))
            .exists()
        )
    return conds


async def count_messages(conn: AsyncConnection, account_id: int, status: str | None = None) -> int:
    """Messages of the account (with a recipient in ``status``, when given)."""
    conds = _message_conditions(account_id, status)
    return int((await conn.execute(select(func.count()).where(*conds))).scalar_one())


async def message_cursor(
    conn: AsyncConnection, account_id: int, offset: int, status: str | None = None
) -> int | None:
    """The ``before_id`` that starts a newest-first page ``offset`` messages in (None: the
    first page; 0, which reads nothing, past the end)."""
    if offset <= 0:
        return None
    conds = _message_conditions(account_id, status)
    query = (
        select(messages.c.id)
        .where(*conds)
        .order_by(messages.c.id.desc())
        .offset(offset - 1)
        .limit(1)
    )
    found = (await conn.execute(query)).scalar_one_or_none()
    return 0 if found is None else int(found)


async def count_inbound(conn: AsyncConnection, account_id: int) -> int:
    m = inbound_messages
    query = select(func.count()).where(m.c.account_id == account_id)
    return int((await conn.execute(query)).scalar_one())


async def inbound_cursor(conn: AsyncConnection, account_id: int, offset: int) -> int | None:
    """The ``before_id`` that starts a newest-first page of received SMS ``offset`` in (None:
    the first page; 0 past the end)."""
    if offset <= 0:
        return None
    m = inbound_messages
    query = (
        select(m.c.id)
        .where(m.c.account_id == account_id)
        .order_by(m.c.id.desc())
        .offset(offset - 1)
        .limit(1)
    )
    found = (await conn.execute(query)).scalar_one_or_none()
    return 0 if found is None else int(found)
