"""Reading and cancelling messages, always scoped to the caller's account."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from smsbridge.core.errors import Conflict, NotFound
from smsbridge.core.message import Status
from smsbridge.services.caller import Caller
from smsbridge.store import billing
from smsbridge.store import messages as repo
from smsbridge.store.db import Database, now_us


@dataclass(slots=True)
class MessagePage:
    items: list[tuple[repo.Row, list[repo.Row]]]
    next_cursor: str | None


class MessageService:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Phone queue rows withdrawn by a cancel: the phones are told.
        self.on_withdrawn: Callable[[list[repo.Row]], None] = lambda _rows: None

    async def get(self, caller: Caller, message_id: int) -> repo.MessageRecord:
        async with self.db.read() as conn:
            record = await repo.get_message(conn, caller.account_id, message_id)
        if record is None:
            raise NotFound(
                f"No message {message_id} in this account; list yours with GET /api/v1/messages.",
                code="message_not_found",
            )
        return record

    async def keep_door_data(self, caller: Caller, message_id: int, patch: dict[str, Any]) -> None:
        """Remember more of what the accepting door needs for its replies (see door_data)."""
        async with self.db.write() as conn:
            await repo.merge_door_data(conn, caller.account_id, message_id, patch)

    async def list(self, caller: Caller, flt: repo.MessageFilter, limit: int) -> MessagePage:
        async with self.db.read() as conn:
            items = await repo.list_messages(conn, caller.account_id, flt, limit)
        cursor = str(items[-1][0]["id"]) if len(items) == limit else None
        return MessagePage(items, cursor)

    async def cancel(
        self, caller: Caller, message_id: int, *, refund: bool = True
    ) -> repo.MessageRecord:
        """Cancel what has not left; the account's refund policy applies unless ``refund`` is
        False (messaggisms: a cancellation never gives the credits back)."""
        now = now_us()
        async with self.db.write() as conn:
            record = await repo.get_message(conn, caller.account_id, message_id, details=False)
            if record is None:
                raise NotFound(
                    f"No message {message_id} in this account.", code="message_not_found"
                )
            cancelled, before, withdrawn = await repo.cancel_pending(conn, message_id, now)
            amount = sum(price for _, price in cancelled)
            charged = not record.message["test"] and not record.message["draft"]
            if refund and amount and charged:
                policy = (await billing.load(conn, caller.account_id)).refund_policy
                if policy == "unsent":
                    await billing.adjust(
                        conn, caller.account_id, amount, reason="refund", now=now,
                        message_id=message_id, note=f"{len(cancelled)} cancelled",
                    )  # fmt: skip
        if withdrawn:
            self.on_withdrawn(withdrawn)
        if not cancelled:
            left = {s: n for s, n in before.items() if s != Status.CANCELLED.value}
            if not left:
                raise Conflict("The message is already cancelled.", code="already_cancelled")
            raise Conflict(
                "Too late to cancel: every recipient has already left the gateway or reached a "
                f"final state ({', '.join(f'{n} {s}' for s, n in sorted(left.items()))}).",
                code="already_sent",
            )
        return await self.get(caller, message_id)

    async def recipients(self, caller: Caller, ids: Sequence[int]) -> dict[int, repo.Row]:
        """The caller's recipients among ``ids`` (others' and unknown ids are left out)."""
        async with self.db.read() as conn:
            return await repo.recipients_by_id(conn, caller.account_id, ids)

    async def cancel_recipients(self, caller: Caller, ids: Sequence[int]) -> Sequence[int]:
        """Cancel the sends these recipients belong to (what has not left yet); the ids of
        ``ids`` that are cancelled afterwards."""
        found = await self.recipients(caller, ids)
        for message_id in sorted({row["message_id"] for row in found.values()}):
            with contextlib.suppress(Conflict):
                await self.cancel(caller, message_id)
        after = await self.recipients(caller, list(found))
        return [i for i in ids if i in after and after[i]["status"] == Status.CANCELLED.value]
