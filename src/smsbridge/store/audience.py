"""Who a campaign or a group send reaches: contacts of groups and contact lists, streamed in
id order (each contact once), counted, and filtered by birthday."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store.bulk import chunked, one_of
from smsbridge.store.contacts import Row
from smsbridge.store.schema import contacts, group_members


async def stream_targets(
    conn: AsyncConnection,
    account_id: int,
    *,
    group_ids: Sequence[int],
    contact_ids: Sequence[int],
    after: int,
    limit: int,
    birthday: tuple[str, ...] | None = None,
    columns: Sequence[str] | None = None,
) -> tuple[list[Row], int | None]:
    """The next contacts (id order, after ``after``) that are in one of the groups or among
    the contact ids, each once; with ``birthday``, only those whose birthday ends in one of
    the ``-MM-DD`` suffixes (no groups and no ids: every contact). With ``columns``, only id,
    phone and these fields are read. Returns them and the cursor to continue after, or None
    when there are no more."""
    if birthday is not None:
        return await _birthdays(conn, account_id, group_ids, contact_ids, after, limit, birthday)
    # Each group's members come in contact-id order from the membership key: merging a few
    # index range scans beats asking the database for a semi-join over the whole group.
    candidates: set[int] = {c for c in contact_ids if c > after}
    for group_id in group_ids:
        result = await conn.execute(
            select(group_members.c.contact_id)
            .where(group_members.c.group_id == group_id, group_members.c.contact_id > after)
            .order_by(group_members.c.contact_id)
            .limit(limit)
        )
        candidates.update(row[0] for row in result.all())
    ids = sorted(candidates)[:limit]
    if not ids:
        return [], None
    rows: list[Row] = []
    wanted = (
        [contacts.c.id, contacts.c.phone, *(contacts.c[name] for name in columns)]
        if columns is not None
        else [contacts]
    )
    for chunk in chunked(ids, 1000):
        result = await conn.execute(
            select(*wanted)
            .where(contacts.c.account_id == account_id, one_of(conn, contacts.c.id, chunk))
            .order_by(contacts.c.id)
        )
        names = tuple(result.keys())
        rows.extend(dict(zip(names, r, strict=True)) for r in result.all())
    return rows, (ids[-1] if len(ids) == limit else None)


def _chosen(group_ids: Sequence[int], contact_ids: Sequence[int]) -> ColumnElement[bool] | None:
    """Contacts in one of the groups or among the ids (None: neither is given)."""
    chosen: list[ColumnElement[bool]] = []
    if group_ids:
        chosen.append(
            exists().where(
                group_members.c.contact_id == contacts.c.id,
                group_members.c.group_id.in_(list(group_ids)),
            )
        )
    if contact_ids:
        chosen.append(contacts.c.id.in_(list(contact_ids)))
    return or_(*chosen) if chosen else None


async def _birthdays(
    conn: AsyncConnection,
    account_id: int,
    group_ids: Sequence[int],
    contact_ids: Sequence[int],
    after: int,
    limit: int,
    birthday: tuple[str, ...],
) -> tuple[list[Row], int | None]:
    conds: list[ColumnElement[bool]] = [
        contacts.c.account_id == account_id,
        contacts.c.id > after,
        or_(*(contacts.c.birthday.like(f"%{suffix}") for suffix in birthday)),
    ]
    chosen = _chosen(group_ids, contact_ids)
    if chosen is not None:
        conds.append(chosen)
    result = await conn.execute(
        select(contacts).where(and_(*conds)).order_by(contacts.c.id).limit(limit)
    )
    rows = [dict(r) for r in result.mappings()]
    return rows, (rows[-1]["id"] if len(rows) == limit else None)


async def count_targets(
    conn: AsyncConnection,
    account_id: int,
    group_ids: Sequence[int],
    contact_ids: Sequence[int],
    *,
    lacking: Sequence[str] = (),
) -> int:
    """How many contacts the groups and contact ids cover (with ``lacking``: only those
    where one of these fields is empty)."""
    chosen = _chosen(group_ids, contact_ids)
    if chosen is None:
        return 0
    conds = [contacts.c.account_id == account_id, chosen]
    if lacking:
        conds.append(or_(*(or_(contacts.c[f].is_(None), contacts.c[f] == "") for f in lacking)))
    result = await conn.execute(select(func.count()).where(*conds))
    return int(result.scalar_one())


async def in_groups(
    conn: AsyncConnection, group_ids: Sequence[int], contact_ids: Sequence[int]
) -> set[int]:
    """Which of the contacts belong to one of the groups."""
    if not group_ids or not contact_ids:
        return set()
    result = await conn.execute(
        select(group_members.c.contact_id).where(
            group_members.c.group_id.in_(list(group_ids)),
            group_members.c.contact_id.in_(list(contact_ids)),
        )
    )
    return {row[0] for row in result.all()}
