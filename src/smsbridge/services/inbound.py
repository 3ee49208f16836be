"""Received SMS: reassembled, stored, threaded, and checked for opt-out keywords.

Every connector hands received SMS to :meth:`InboundService.receive`. A part of a concatenated
SMS waits for its siblings; the complete message is stored with its channel, device and SIM,
linked to the last message the account sent to that number (``reply_to``), counted as unread in
the number's conversation, and announced as ``message.inbound``, all in one transaction. A STOP
(or START) reply changes the account's opt-out list in that same transaction; a configured
confirmation is sent afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from smsbridge.config import Settings
from smsbridge.connectors.base import InboundSms
from smsbridge.core.errors import ValidationFailed
from smsbridge.core.keywords import Keyword, KeywordMatcher
from smsbridge.core.numbers import normalize
from smsbridge.services.campaign_expansion import caller_of
from smsbridge.services.message_plan import SendRequest
from smsbridge.services.send import SendService
from smsbridge.store import inbound as store
from smsbridge.store import journal, optouts
from smsbridge.store.db import Database, now_us

log = logging.getLogger(__name__)
MAX_TEXT = 10_000


class InboundService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        send: SendService,
        on_committed: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.send = send
        self.on_committed = on_committed
        self.keywords = KeywordMatcher(settings.keywords_stop, settings.keywords_start)

    async def receive(self, sms: InboundSms) -> int | None:
        """Store ``sms``; returns the inbound message id, or None while parts are missing."""
        now = now_us()
        sms = replace(sms, received_at=sms.received_at or now, text=sms.text[:MAX_TEXT])
        async with self.db.write() as conn:
            await store.serialize_sender(conn, sms.channel, sms.sender)
            if sms.provider_id is not None:
                existing = await store.known(conn, sms.channel, sms.provider_id)
                if existing is not None:
                    return existing  # a redelivery of what is stored already
            if sms.concat is not None and sms.concat[1] > 1:
                ref, total, seq = sms.concat
                parts = await store.add_part(conn, {
                    "channel": sms.channel, "from_number": sms.sender, "ref": ref,
                    "total": total, "seq": seq, "text": sms.text, "to_number": sms.to,
                    "account_id": sms.account_id, "device": sms.device, "sim": sms.sim,
                    "received_at": sms.received_at,
                })  # fmt: skip
                if parts is None:
                    return None
                sms = _assembled(sms, parts)
            stored = await self._store(conn, sms, now, complete=True)
        self.on_committed()
        await self._confirm(stored)
        return int(stored["id"])

    async def assemble_stale(self) -> int:
        """Store concatenated SMS whose missing parts never came, as far as they got."""
        now = now_us()
        before = now - int(self.settings.inbound_part_timeout_seconds * 1_000_000)
        stored = []
        async with self.db.write() as conn:
            for key in await store.stale_part_sets(conn, before=before):
                parts = await store.take_part_set(conn, key)
                if parts:
                    first = parts[0]
                    sms = InboundSms(
                        first["channel"], first["from_number"], "", first["to_number"],
                        first["received_at"], None, first["account_id"], first["device"],
                        first["sim"], (first["ref"], first["total"], first["seq"]),
                    )  # fmt: skip
                    stored.append(
                        await self._store(conn, _assembled(sms, parts), now, complete=False)
                    )
        if stored:
            self.on_committed()
            for row in stored:
                await self._confirm(row)
        return len(stored)

    async def _store(
        self, conn: Any, sms: InboundSms, now: int, *, complete: bool
    ) -> dict[str, Any]:
        sender = _number(sms.sender, self.settings.default_region)
        account_id = (
            sms.account_id or await store.owner_of(conn, sender) or await store.first_account(conn)
        )
        if account_id is None:
            raise RuntimeError("no account exists to receive SMS; create one first")
        keyword = self.keywords.match(sms.text)
        received_at = sms.received_at or now
        values: dict[str, Any] = {
            "account_id": account_id,
            "channel": sms.channel,
            "device": sms.device,
            "sim": sms.sim,
            "from_number": sender,
            "to_number": sms.to,
            "text": sms.text,
            "parts": sms.concat[2] if sms.concat else 1,
            "incomplete": not complete,
            "provider_id": sms.provider_id,
            "received_at": received_at,
            "created_at": now,
            "reply_to": await store.last_sent_to(conn, account_id, sender),
            "keyword": keyword.value if keyword else None,
        }
        inbound_id = await store.insert_one(conn, values)
        await store.touch_conversation(conn, account_id, sender, inbound_id, received_at, now)
        if keyword is Keyword.STOP:
            await optouts.add(conn, account_id, [sender], "keyword", now)
        elif keyword is Keyword.START:
            await optouts.remove(conn, account_id, [sender])
        await journal.append(conn, account_id=account_id, kind=journal.INBOUND, at=now,
                             ref=inbound_id)  # fmt: skip
        return {"id": inbound_id, **values}

    async def _confirm(self, stored: dict[str, Any]) -> None:
        """Answer an opt-out or opt-in keyword, when a confirmation text is configured."""
        keyword = stored["keyword"]
        text = {
            "stop": self.settings.keywords_stop_reply,
            "start": self.settings.keywords_start_reply,
        }.get(keyword or "")
        if not text or not stored["from_number"].startswith("+"):
            return
        try:
            async with self.db.read() as conn:
                caller, _zone = await caller_of(conn, stored["account_id"])
            await self.send.send(
                caller,
                SendRequest(
                    to=[stored["from_number"]], text=text, transactional=True, no_reload=True,
                    label="keyword-confirmation",
                ),
            )  # fmt: skip
        except Exception:
            # The keyword itself is stored and applied; only the courtesy reply is missing.
            log.exception("could not send the %s confirmation to %s", keyword,
                          stored["from_number"])  # fmt: skip


def _assembled(sms: InboundSms, parts: list[dict[str, Any]]) -> InboundSms:
    ordered = sorted(parts, key=lambda p: p["seq"])
    first = ordered[0]
    return replace(
        sms,
        text="".join(p["text"] for p in ordered),
        received_at=min(p["received_at"] for p in ordered),
        to=sms.to or first["to_number"],
        account_id=sms.account_id or first["account_id"],
        device=sms.device or first["device"],
        sim=sms.sim if sms.sim is not None else first["sim"],
        concat=(first["ref"], first["total"], len(ordered)),
    )


def _number(raw: str, region: str | None) -> str:
    """E.164 when the sender is a phone number; alphanumeric senders stay as they are."""
    try:
        return normalize(raw, region)
    except ValidationFailed:
        return raw.strip()[:32]
