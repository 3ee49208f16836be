"""Received SMS and conversations as the API shows them."""

from __future__ import annotations

from typing import Any

from smsbridge.config import Settings
from smsbridge.core.errors import NotFound, ValidationFailed
from smsbridge.core.numbers import normalize
from smsbridge.services.caller import Caller
from smsbridge.store import conversations as store
from smsbridge.store import inbound
from smsbridge.store.db import Database, now_us
from smsbridge.store.inbound import InboundFilter

Row = dict[str, Any]


class ConversationService:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    def number(self, caller: Caller, raw: str) -> str:
        """A conversation's number as stored: E.164, or an alphanumeric sender as written."""
        try:
            return normalize(raw, caller.default_region or self.settings.default_region)
        except ValidationFailed:
            if raw.strip() and len(raw.strip()) <= 32 and raw.strip().isprintable():
                return raw.strip()
            raise

    async def inbound(self, caller: Caller, flt: InboundFilter, limit: int) -> list[Row]:
        async with self.db.read() as conn:
            return await inbound.page(conn, caller.account_id, flt, limit)

    async def inbound_one(self, caller: Caller, inbound_id: int) -> Row:
        async with self.db.read() as conn:
            row = await inbound.get(conn, caller.account_id, inbound_id)
        if row is None:
            raise NotFound(
                f"There is no received SMS {inbound_id} in this account.",
                code="inbound_not_found",
            )
        return row

    async def conversations(
        self, caller: Caller, *, before: tuple[int, str] | None, unread_only: bool, limit: int
    ) -> list[Row]:
        async with self.db.read() as conn:
            return await store.page(
                conn, caller.account_id, before=before, unread_only=unread_only, limit=limit
            )

    async def thread(
        self, caller: Caller, raw_number: str, *, before: int | None, limit: int
    ) -> tuple[str, Row | None, list[Row]]:
        number = self.number(caller, raw_number)
        async with self.db.read() as conn:
            summary = await store.get(conn, caller.account_id, number)
            items = await store.thread(conn, caller.account_id, number, before=before,
                                       limit=limit)  # fmt: skip
        if summary is None and not items:
            raise NotFound(
                f"There is no conversation with {number}: nothing was sent to or received from it.",
                code="conversation_not_found",
            )
        return number, summary, items

    async def mark_read(self, caller: Caller, raw_number: str, up_to: int | None) -> int:
        number = self.number(caller, raw_number)
        async with self.db.write() as conn:
            if await store.get(conn, caller.account_id, number) is None:
                raise NotFound(
                    f"{number} has not written to this account.",
                    code="conversation_not_found",
                )
            return await inbound.mark_read(conn, caller.account_id, number, now_us(),
                                           up_to_id=up_to)  # fmt: skip
