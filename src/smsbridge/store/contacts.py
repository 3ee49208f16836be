"""Contacts, groups and group membership.

Writes go in chunks through precompiled executemany (an import of 100,000 rows is a few
hundred statements); a contact's ``unsubscribed`` is its row in the opt-out list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store import optouts
from smsbridge.store.bulk import chunked, executemany, insert_rows
from smsbridge.store.schema import contacts, group_members, groups, opt_outs
from smsbridge.store.upsert import insert_missing

Row = dict[str, Any]
FIELDS = (
    "firstname", "lastname", "birthday", "email",
    *(f"extra{i}" for i in range(1, 11)),
)  # fmt: skip


@dataclass(slots=True)
class ContactWrite:
    """One contact to create or update; ``values`` holds only the fields given."""

    phone: str
    values: dict[str, str | None] = field(default_factory=dict)
    groups: list[int] | None = None  # replace (update) or set (create) memberships
    add_groups: list[int] = field(default_factory=list)  # join these as well
    unsubscribed: bool | None = None


@dataclass(slots=True)
class Written:
    id: int
    created: bool


async def ids_by_phone(
    conn: AsyncConnection, account_id: int, phones: Sequence[str]
) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunked(list(dict.fromkeys(phones))):
        result = await conn.execute(
            select(contacts.c.phone, contacts.c.id).where(
                contacts.c.account_id == account_id, contacts.c.phone.in_(list(chunk))
            )
        )
        found.update({phone: cid for phone, cid in result.all()})
    return found


async def write(
    conn: AsyncConnection,
    account_id: int,
    items: Sequence[ContactWrite],
    *,
    update_existing: bool,
    now: int,
) -> list[Written | None]:
    """Create the new phones and update (or, without ``update_existing``, leave: None) the
    existing ones. A phone given twice is created once and then updated."""
    existing = await ids_by_phone(conn, account_id, [i.phone for i in items])
    fresh: dict[str, ContactWrite] = {}
    for item in items:
        if item.phone not in existing and item.phone not in fresh:
            fresh[item.phone] = item
    if fresh:
        columns = ("account_id", "phone", *FIELDS, "created_at", "updated_at")
        rows = [
            (account_id, phone, *(item.values.get(f) for f in FIELDS), now, now)
            for phone, item in fresh.items()
        ]
        for part in chunked(rows, 5000):
            await insert_rows(conn, contacts, columns, part)
        if len(rows) >= 1000 and conn.dialect.name == "postgresql":
            # A bulk load into a young table: without fresh statistics PostgreSQL plans the
            # phone lookups as sequential scans, and each chunk of an import gets slower.
            await conn.exec_driver_sql("ANALYZE contacts")
        created_ids = await ids_by_phone(conn, account_id, list(fresh))
    else:
        created_ids = {}
    out: list[Written | None] = []
    updates: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    memberships: list[tuple[int, int]] = []
    replace_groups: list[int] = []
    opt_in: list[str] = []
    opt_out: list[str] = []
    for item in items:
        first = fresh.get(item.phone) is item
        contact_id = existing.get(item.phone) or created_ids[item.phone]
        if not first:
            if item.phone in existing and not update_existing:
                out.append(None)
                continue
            if item.values:
                names = tuple(sorted(item.values))
                updates.setdefault(names, []).append(
                    (*(item.values[n] for n in names), now, contact_id)
                )
            if item.groups is not None:
                replace_groups.append(contact_id)
        out.append(Written(contact_id, first))
        for group_id in [*(item.groups or ()), *item.add_groups]:
            memberships.append((group_id, contact_id))
        if item.unsubscribed is True:
            opt_out.append(item.phone)
        elif item.unsubscribed is False:
            opt_in.append(item.phone)
    for names, rows in updates.items():
        await executemany(conn, _update_statement(names), (*names, "updated_at", "cid"), rows)
    for ids in chunked(replace_groups):
        await conn.execute(delete(group_members).where(group_members.c.contact_id.in_(ids)))
    await insert_missing(conn, group_members, ("group_id", "contact_id"), memberships)
    if opt_out:
        await optouts.add(conn, account_id, opt_out, "contact", now)
    if opt_in:
        await optouts.remove(conn, account_id, opt_in)
    return out


_updates: dict[tuple[str, ...], Any] = {}


def _update_statement(names: tuple[str, ...]) -> Any:
    statement = _updates.get(names)
    if statement is None:
        statement = (
            update(contacts)
            .where(contacts.c.id == bindparam("cid"))
            .values({n: bindparam(n) for n in (*names, "updated_at")})
        )
        _updates[names] = statement
    return statement


async def get(conn: AsyncConnection, account_id: int, contact_id: int) -> Row | None:
    rows = await _with_details(
        conn,
        account_id,
        [
            dict(r)
            for r in (
                await conn.execute(
                    select(contacts).where(
                        contacts.c.id == contact_id, contacts.c.account_id == account_id
                    )
                )
            ).mappings()
        ],
    )
    return rows[0] if rows else None


async def get_many(
    conn: AsyncConnection, account_id: int, contact_ids: Sequence[int]
) -> dict[int, Row]:
    found: list[Row] = []
    for chunk in chunked(list(dict.fromkeys(contact_ids))):
        result = await conn.execute(
            select(contacts).where(
                contacts.c.account_id == account_id, contacts.c.id.in_(list(chunk))
            )
        )
        found.extend(dict(r) for r in result.mappings())
    return {r["id"]: r for r in await _with_details(conn, account_id, found)}


@dataclass(slots=True)
class ContactFilter:
    query: str | None = None  # name, phone or email contains
    phone: str | None = None
    group_id: int | None = None
    field: str | None = None
    value: str | None = None
    after: int | None = None


def _conditions(account_id: int, flt: ContactFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [contacts.c.account_id == account_id]
    if flt.query:
        # Searched literally: %, _ and \ in the query are not wildcards.
        escaped = flt.query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        conds.append(
            or_(
                contacts.c.firstname.ilike(like, escape="\\"),
                contacts.c.lastname.ilike(like, escape="\\"),
                contacts.c.phone.like(like, escape="\\"),
                contacts.c.email.ilike(like, escape="\\"),
                _full_name().ilike(like, escape="\\"),
            )
        )
    if flt.phone is not None:
        conds.append(contacts.c.phone == flt.phone)
    if flt.group_id is not None:
        conds.append(
            exists().where(
                group_members.c.contact_id == contacts.c.id,
                group_members.c.group_id == flt.group_id,
            )
        )
    if flt.field is not None:
        conds.append(contacts.c[flt.field] == flt.value)
    return conds


def _full_name() -> ColumnElement[str]:
    return func.coalesce(contacts.c.firstname, "") + " " + func.coalesce(contacts.c.lastname, "")


async def page(
    conn: AsyncConnection, account_id: int, flt: ContactFilter, limit: int
) -> tuple[list[Row], int]:
    """A page of contacts in id order, with the total matching the filter."""
    conds = _conditions(account_id, flt)
    total = (await conn.execute(select(func.count()).where(*conds))).scalar_one()
    if flt.after is not None:
        conds.append(contacts.c.id > flt.after)
    result = await conn.execute(select(contacts).where(*conds).order_by(contacts.c.id).limit(limit))
    rows = await _with_details(conn, account_id, [dict(r) for r in result.mappings()])
    return rows, int(total)


async def _with_details(conn: AsyncConnection, account_id: int, rows: list[Row]) -> list[Row]:
    """Add each contact's groups (id and name) and its opt-out state."""
    if not rows:
        return rows
    by_id = {r["id"]: r for r in rows}
    for r in rows:
        r["groups"] = []
    for chunk in chunked(list(by_id)):
        result = await conn.execute(
            select(group_members.c.contact_id, groups.c.id, groups.c.name)
            .join(groups, groups.c.id == group_members.c.group_id)
            .where(group_members.c.contact_id.in_(list(chunk)))
            .order_by(groups.c.id)
        )
        for contact_id, group_id, name in result.all():
            by_id[contact_id]["groups"].append({"id": group_id, "name": name})
    opted = await optouts.matching(conn, account_id, [r["phone"] for r in rows])
    for r in rows:
        r["unsubscribed"] = r["phone"] in opted
    return rows


async def delete_contact(conn: AsyncConnection, account_id: int, contact_id: int) -> bool:
    owned = (
        await conn.execute(
            select(contacts.c.id).where(
                contacts.c.id == contact_id, contacts.c.account_id == account_id
            )
        )
    ).first()
    if owned is None:
        return False
    await conn.execute(delete(group_members).where(group_members.c.contact_id == contact_id))
    await conn.execute(delete(contacts).where(contacts.c.id == contact_id))
    return True


async def by_name(conn: AsyncConnection, account_id: int, name: str) -> list[Row]:
    """Contacts called ``name``: full name, else first name, else last name (any case)."""
    lowered = name.strip().lower()
    full = func.lower(_full_name())
    for condition in (
        full == lowered,
        func.lower(contacts.c.firstname) == lowered,
        func.lower(contacts.c.lastname) == lowered,
    ):
        result = await conn.execute(
            select(contacts).where(contacts.c.account_id == account_id, condition).limit(2)
        )
        found = [dict(r) for r in result.mappings()]
        if found:
            return found
    return []


async def fields_by_phone(
    conn: AsyncConnection, account_id: int, phones: Sequence[str]
) -> dict[str, Row]:
    found: dict[str, Row] = {}
    for chunk in chunked(list(dict.fromkeys(phones))):
        result = await conn.execute(
            select(contacts).where(
                contacts.c.account_id == account_id, contacts.c.phone.in_(list(chunk))
            )
        )
        found.update({r["phone"]: dict(r) for r in result.mappings()})
    return found


async def owned_contact_ids(conn: AsyncConnection, account_id: int, ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for chunk in chunked(list(dict.fromkeys(ids))):
        result = await conn.execute(
            select(contacts.c.id).where(
                contacts.c.account_id == account_id, contacts.c.id.in_(list(chunk))
            )
        )
        found.update(row[0] for row in result.all())
    return found


async def export_rows(
    conn: AsyncConnection, account_id: int, group_id: int | None, after: int, limit: int
) -> list[Row]:
    """A chunk of contacts for CSV export, with opt-out state (no group names)."""
    flt = ContactFilter(group_id=group_id, after=after)
    conds = _conditions(account_id, flt)
    conds.append(contacts.c.id > after)
    unsubscribed = (
        exists()
        .where(opt_outs.c.account_id == account_id, opt_outs.c.number == contacts.c.phone)
        .label("unsubscribed")
    )
    result = await conn.execute(
        select(contacts, unsubscribed).where(*conds).order_by(contacts.c.id).limit(limit)
    )
    return [dict(r) for r in result.mappings()]


async def update_one(
    conn: AsyncConnection,
    contact_id: int,
    values: dict[str, str | None],
    group_ids: list[int] | None,
    now: int,
) -> None:
    """Set the given fields (and phone); ``group_ids`` replaces the memberships."""
    await conn.execute(
        update(contacts).where(contacts.c.id == contact_id).values(**values, updated_at=now)
    )
    if group_ids is not None:
        await conn.execute(delete(group_members).where(group_members.c.contact_id == contact_id))
        await add_members_of(conn, contact_id, group_ids)


async def add_members_of(conn: AsyncConnection, contact_id: int, group_ids: Sequence[int]) -> None:
    await insert_missing(
        conn, group_members, ("group_id", "contact_id"), [(g, contact_id) for g in group_ids]
    )


async def set_unsubscribed(
    conn: AsyncConnection, account_id: int, phone: str, unsubscribed: bool, now: int
) -> None:
    if unsubscribed:
        await optouts.add(conn, account_id, [phone], "contact", now)
    else:
        await optouts.remove(conn, account_id, [phone])
