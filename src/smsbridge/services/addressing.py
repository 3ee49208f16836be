"""Who a send goes to: numbers, ``group:NAME`` (or ``group:ID``), group names and contact names,
with the contact fields that fill a template's placeholders.

Plain numbers in a text without placeholders need no database lookup at all (the hot path).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from smsbridge.config import Settings
from smsbridge.core.errors import NotFound, ValidationFailed
from smsbridge.core.numbers import InvalidNumber, normalize
from smsbridge.services.caller import Caller
from smsbridge.store import audience
from smsbridge.store import contacts as store
from smsbridge.store import groups as group_store
from smsbridge.store.db import Database

NUMBER_LIKE = re.compile(r"^[+\d\s\-()./]+$")
GROUP_PREFIX = "group:"
Fields = Mapping[str, str | None]


@dataclass(frozen=True, slots=True)
class Target:
    """One destination as given: a number, group or contact reference, with optional fields."""

    to: str
    fields: Fields | None = None

    def __post_init__(self) -> None:
        if self.fields and any(k != k.lower() for k in self.fields):
            object.__setattr__(self, "fields", lower_keys(self.fields))


def contact_fields(row: Mapping[str, Any]) -> dict[str, str | None]:
    out: dict[str, str | None] = {name: row.get(name) for name in store.FIELDS}
    out["phone"] = row.get("phone")
    out["number"] = row.get("phone")
    return out


def needs_lookup(targets: Sequence[Target], personal: bool) -> bool:
    return personal or any(not NUMBER_LIKE.match(t.to) for t in targets)


class AddressBook:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    async def resolve(
        self, caller: Caller, targets: Sequence[Target], *, limit: int
    ) -> list[Target]:
        """Expand group and contact references into numbers (with the contacts' fields under
        the request's own); numbers that belong to a contact get that contact's fields."""
        out: list[Target] = []
        region = caller.default_region or self.settings.default_region
        async with self.db.read() as conn:
            for target in targets:
                ref = target.to.strip()
                if NUMBER_LIKE.match(ref):
                    out.append(target)
                    continue
                if ref.lower().startswith(GROUP_PREFIX):
                    members = await self._group(conn, caller, ref[len(GROUP_PREFIX) :].strip(),
                                                limit)  # fmt: skip
                    out.extend(Target(m["phone"], _merge(m, target.fields)) for m in members)
                else:
                    group_id = (
                        await group_store.group_ids_by_name(conn, caller.account_id, [ref])
                    ).get(ref)
                    if group_id is not None:
                        members = await self._members(conn, caller, group_id, limit)
                        out.extend(Target(m["phone"], _merge(m, target.fields)) for m in members)
                    else:
                        found = await store.by_name(conn, caller.account_id, ref)
                        if not found:
                            # Neither group nor contact: rejected as an invalid number.
                            out.append(target)
                            continue
                        if len(found) > 1:
                            raise ValidationFailed(
                                f"Several contacts are called {ref!r}; address them by number.",
                                code="ambiguous_contact",
                                details={"to": ref},
                            )
                        out.append(Target(found[0]["phone"], _merge(found[0], target.fields)))
                if len(out) > limit:
                    raise _too_many(limit)
            plain = [i for i, t in enumerate(out) if t.fields is None or "phone" not in t.fields]
            if plain:
                numbers: dict[int, str] = {}
                for i in plain:
                    try:
                        numbers[i] = normalize(out[i].to, region)
                    except InvalidNumber:
                        continue
                known = await store.fields_by_phone(conn, caller.account_id, list(numbers.values()))
                for i, number in numbers.items():
                    row = known.get(number)
                    if row is not None:
                        out[i] = Target(out[i].to, _merge(row, out[i].fields))
        return out

    async def _group(self, conn: Any, caller: Caller, ref: str, limit: int) -> list[Any]:
        group_id = None
        if ref.isdigit():
            owned = await group_store.owned_group_ids(conn, caller.account_id, [int(ref)])
            group_id = int(ref) if owned else None
        if group_id is None:
            group_id = (await group_store.group_ids_by_name(conn, caller.account_id, [ref])).get(
                ref
            )
        if group_id is None:
            raise NotFound(
                f"No group {ref!r}; list the account's groups with GET /api/v1/groups.",
                code="group_not_found",
                details={"to": f"group:{ref}"},
            )
        return await self._members(conn, caller, group_id, limit)

    async def _members(self, conn: Any, caller: Caller, group_id: int, limit: int) -> list[Any]:
        members, _ = await audience.stream_targets(
            conn, caller.account_id, group_ids=[group_id], contact_ids=[], after=0,
            limit=limit + 1,
        )  # fmt: skip
        if len(members) > limit:
            raise _too_many(limit)
        return members


def _merge(contact: Mapping[str, Any], given: Fields | None) -> dict[str, str | None]:
    fields = contact_fields(contact)
    if given:
        fields.update(lower_keys(given))
    return fields


def lower_keys(fields: Fields) -> dict[str, str | None]:
    """Placeholder names are case-insensitive: {{FirstName}} is {{firstname}}."""
    return {key.lower(): value for key, value in fields.items()}


def _too_many(limit: int) -> ValidationFailed:
    return ValidationFailed(
        f"These groups hold more than {limit} recipients, the most one message takes; send to "
        "them with a campaign (POST /api/v1/campaigns), which streams any number.",
        code="too_many_recipients",
    )
