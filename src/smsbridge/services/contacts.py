"""The address book: contacts (one or many per call, upserted by phone), groups, members.

Input is checked item by item: valid contacts are saved and invalid ones reported by index,
as the message batch does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from smsbridge.config import Settings
from smsbridge.core.errors import Conflict, NotFound, SmsBridgeError, ValidationFailed
from smsbridge.core.numbers import InvalidNumber, normalize
from smsbridge.services.caller import Caller
from smsbridge.services.contact_input import MAX_GROUP_NAME, parse_contact
from smsbridge.store import contacts as store
from smsbridge.store import groups as group_store
from smsbridge.store.db import Database, now_us


@dataclass(slots=True)
class ItemError:
    index: int
    error: SmsBridgeError


@dataclass(slots=True)
class SaveResult:
    saved: list[tuple[int, int, bool]] = field(default_factory=list)  # (index, id, created)
    errors: list[ItemError] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for _, _, created in self.saved if created)

    @property
    def updated(self) -> int:
        return len(self.saved) - self.created


class ContactService:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    def _region(self, caller: Caller) -> str | None:
        return caller.default_region or self.settings.default_region

    async def save(
        self,
        caller: Caller,
        items: Sequence[Any],
        *,
        update_existing: bool = True,
        add_groups: Sequence[str | int] = (),
    ) -> SaveResult:
        """Create or update contacts; invalid items (and, without ``update_existing``, phones
        that exist) are reported by index, the rest saved in one transaction."""
        result = SaveResult()
        region = self._region(caller)
        parsed: list[tuple[int, str, dict[str, str | None], list[str | int] | None, bool | None]]
        parsed = []
        for index, raw in enumerate(items):
            try:
                phone, values, refs, unsubscribed = parse_contact(raw, region)
            except InvalidNumber as exc:
                result.errors.append(ItemError(index, ValidationFailed(exc.message, code=exc.code)))
                continue
            except SmsBridgeError as exc:
                result.errors.append(ItemError(index, exc))
                continue
            assert phone is not None
            parsed.append((index, phone, values, refs, unsubscribed))
        if not parsed:
            return result
        now = now_us()
        async with self.db.write() as conn:
            names = [r for p in parsed for r in (p[3] or ()) if isinstance(r, str)]
            names += [r for r in add_groups if isinstance(r, str)]
            by_name = (
                await group_store.create_groups(conn, caller.account_id, names, now)
                if names
                else {}
            )
            ids = [r for p in parsed for r in (p[3] or ()) if isinstance(r, int)]
            ids += [r for r in add_groups if isinstance(r, int)]
            owned = await group_store.owned_group_ids(conn, caller.account_id, ids)
            extra = [by_name[r] if isinstance(r, str) else r for r in add_groups]
            if any(r not in owned for r in add_groups if isinstance(r, int)):
                raise NotFound(
                    "No such group; list them with GET /api/v1/groups.", code="group_not_found"
                )
            writes: list[store.ContactWrite] = []
            indexes: list[int] = []
            for index, phone, values, refs, unsubscribed in parsed:
                missing = [r for r in refs or () if isinstance(r, int) and r not in owned]
                if missing:
                    result.errors.append(
                        ItemError(
                            index,
                            NotFound(
                                f"No group {missing[0]}; name groups by name or by an id from "
                                "GET /api/v1/groups.",
                                code="group_not_found",
                            ),
                        )
                    )
                    continue
                group_ids = (
                    None
                    if refs is None
                    else list(dict.fromkeys(by_name[r] if isinstance(r, str) else r for r in refs))
                )
                writes.append(
                    store.ContactWrite(
                        phone, values, None, [*(group_ids or ()), *extra], unsubscribed
                    )
                )
                indexes.append(index)
            written = await store.write(
                conn, caller.account_id, writes, update_existing=update_existing, now=now
            )
        for index, item, done in zip(indexes, writes, written, strict=True):
            if done is None:
                result.errors.append(
                    ItemError(
                        index,
                        Conflict(
                            f"A contact with phone {item.phone} exists; update it with PATCH "
                            "/api/v1/contacts/{id} or send without upsert=false.",
                            code="duplicate_phone",
                        ),
                    )
                )
            else:
                result.saved.append((index, done.id, done.created))
        result.errors.sort(key=lambda e: e.index)
        return result

    async def get(self, caller: Caller, contact_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = await store.get(conn, caller.account_id, contact_id)
        if row is None:
            raise _contact_not_found(contact_id)
        return row

    async def update(self, caller: Caller, contact_id: int, raw: Any) -> dict[str, Any]:
        phone, values, refs, unsubscribed = parse_contact(raw, self._region(caller), partial=True)
        now = now_us()
        async with self.db.write() as conn:
            current = await store.get(conn, caller.account_id, contact_id)
            if current is None:
                raise _contact_not_found(contact_id)
            if phone is not None and phone != current["phone"]:
                taken = await store.ids_by_phone(conn, caller.account_id, [phone])
                if taken:
                    raise Conflict(
                        f"Another contact ({taken[phone]}) has phone {phone}.",
                        code="duplicate_phone",
                    )
                values = {**values, "phone": phone}
            group_ids = await self._group_ids(conn, caller, refs, now) if refs is not None else None
            await store.update_one(conn, contact_id, values, group_ids, now)
            target_phone = phone or current["phone"]
            if unsubscribed is not None:
                await store.set_unsubscribed(
                    conn, caller.account_id, target_phone, unsubscribed, now
                )
            row = await store.get(conn, caller.account_id, contact_id)
        assert row is not None
        return row

    async def _group_ids(
        self, conn: Any, caller: Caller, refs: Sequence[str | int], now: int
    ) -> list[int]:
        names = [r for r in refs if isinstance(r, str)]
        by_name = (
            await group_store.create_groups(conn, caller.account_id, names, now) if names else {}
        )
        ids = [r for r in refs if isinstance(r, int)]
        owned = await group_store.owned_group_ids(conn, caller.account_id, ids)
        for r in ids:
            if r not in owned:
                raise NotFound(f"No group {r}.", code="group_not_found")
        return list(dict.fromkeys(by_name[r] if isinstance(r, str) else r for r in refs))

    async def delete(self, caller: Caller, contact_id: int) -> None:
        async with self.db.write() as conn:
            if not await store.delete_contact(conn, caller.account_id, contact_id):
                raise _contact_not_found(contact_id)

    async def page(
        self, caller: Caller, flt: store.ContactFilter, limit: int, group: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        async with self.db.read() as conn:
            if group is not None:
                flt.group_id = await self._find_group(conn, caller, group)
            return await store.page(conn, caller.account_id, flt, limit)

    # Groups ---------------------------------------------------------------------------

    async def _find_group(self, conn: Any, caller: Caller, ref: str | int) -> int:
        if isinstance(ref, int) or ref.isdigit():
            gid = int(ref)
            if await group_store.owned_group_ids(conn, caller.account_id, [gid]):
                return gid
        by_name = await group_store.group_ids_by_name(conn, caller.account_id, [str(ref)])
        if str(ref) in by_name:
            return by_name[str(ref)]
        raise NotFound(
            f"No group {ref!r}; list the account's groups with GET /api/v1/groups.",
            code="group_not_found",
        )

    async def groups(self, caller: Caller) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            return await group_store.group_rows(conn, caller.account_id)

    async def group(self, caller: Caller, ref: str | int) -> dict[str, Any]:
        async with self.db.read() as conn:
            gid = await self._find_group(conn, caller, ref)
            return (await group_store.group_rows(conn, caller.account_id, [gid]))[0]

    async def create_group(
        self, caller: Caller, name: str, contact_ids: Sequence[int] = ()
    ) -> dict[str, Any]:
        name = _group_name(name)
        now = now_us()
        async with self.db.write() as conn:
            if await group_store.group_ids_by_name(conn, caller.account_id, [name]):
                raise Conflict(f"A group named {name!r} exists.", code="duplicate_group")
            gid = (await group_store.create_groups(conn, caller.account_id, [name], now))[name]
            if contact_ids:
                await self._check_contacts(conn, caller, contact_ids)
                await group_store.add_members(conn, gid, contact_ids)
            return (await group_store.group_rows(conn, caller.account_id, [gid]))[0]

    async def rename_group(self, caller: Caller, ref: str | int, name: str) -> dict[str, Any]:
        name = _group_name(name)
        async with self.db.write() as conn:
            gid = await self._find_group(conn, caller, ref)
            other = await group_store.group_ids_by_name(conn, caller.account_id, [name])
            if other and other[name] != gid:
                raise Conflict(f"A group named {name!r} exists.", code="duplicate_group")
            await group_store.rename_group(conn, gid, name, now_us())
            return (await group_store.group_rows(conn, caller.account_id, [gid]))[0]

    async def delete_group(self, caller: Caller, ref: str | int) -> None:
        async with self.db.write() as conn:
            await group_store.delete_group(conn, await self._find_group(conn, caller, ref))

    async def _check_contacts(self, conn: Any, caller: Caller, ids: Sequence[int]) -> None:
        owned = await store.owned_contact_ids(conn, caller.account_id, ids)
        unknown = [i for i in ids if i not in owned]
        if unknown:
            raise NotFound(
                f"No contact {unknown[0]}"
                + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
                + "; add members by contact id (GET /api/v1/contacts) or by phone.",
                code="contact_not_found",
                details={"unknown": unknown[:100]},
            )

    async def change_members(
        self,
        caller: Caller,
        ref: str | int,
        *,
        contact_ids: Sequence[int] = (),
        phones: Sequence[str] = (),
        remove: bool = False,
    ) -> dict[str, Any]:
        """Add (or remove) members by contact id or by phone; unknown phones become contacts
        when added."""
        region = self._region(caller)
        numbers = [normalize(p, region) for p in phones]
        now = now_us()
        async with self.db.write() as conn:
            gid = await self._find_group(conn, caller, ref)
            ids = list(dict.fromkeys(contact_ids))
            await self._check_contacts(conn, caller, ids)
            if numbers:
                if remove:
                    known = await store.ids_by_phone(conn, caller.account_id, numbers)
                    ids += list(known.values())
                else:
                    written = await store.write(
                        conn,
                        caller.account_id,
                        [store.ContactWrite(n) for n in numbers],
                        update_existing=True,
                        now=now,
                    )
                    ids += [w.id for w in written if w is not None]
            if remove:
                await group_store.remove_members(conn, gid, ids)
            else:
                await group_store.add_members(conn, gid, ids)
            return (await group_store.group_rows(conn, caller.account_id, [gid]))[0]

    async def members(
        self, caller: Caller, ref: str | int, after: int | None, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        async with self.db.read() as conn:
            gid = await self._find_group(conn, caller, ref)
            return await store.page(
                conn, caller.account_id, store.ContactFilter(group_id=gid, after=after), limit
            )

    async def resolve_group(self, caller: Caller, ref: str | int) -> int:
        async with self.db.read() as conn:
            return await self._find_group(conn, caller, ref)


def _group_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_GROUP_NAME:
        raise ValidationFailed(
            f"A group name has 1 to {MAX_GROUP_NAME} characters.", code="invalid_group_name"
        )
    return name


def _contact_not_found(contact_id: int) -> NotFound:
    return NotFound(
        f"No contact {contact_id}; list contacts with GET /api/v1/contacts.",
        code="contact_not_found",
    )
