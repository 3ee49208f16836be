"""Campaigns (newsletters): create, estimate, start, pause, resume, cancel, progress.

States: draft -> scheduled -> running <-> paused -> completed | cancelled. The campaign runner
(:mod:`smsbridge.services.campaign_runner`) does the expanding in the dispatcher processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.config import Settings
from smsbridge.connectors.registry import CHANNELS
from smsbridge.core.errors import Conflict, InsufficientCredit, NotFound, ValidationFailed
from smsbridge.core.message import Priority
from smsbridge.core.pricing import credits
from smsbridge.core.schedule import parse_clock
from smsbridge.core.sender import validate_sender
from smsbridge.services.billing import BillingService
from smsbridge.services.caller import Caller
from smsbridge.services.campaign_expansion import (
    DONE,
    Estimate,
    Targets,
    caller_of,
    estimate,
    pacing_of,
    quick_check,
)
from smsbridge.services.message_plan import check_send_at, phone_channel, to_us
from smsbridge.services.send import SendService
from smsbridge.store import billing as billing_store
from smsbridge.store import campaigns as store
from smsbridge.store import contacts as contact_store
from smsbridge.store import groups as group_store
from smsbridge.store import messages as message_store
from smsbridge.store.db import Database, now_us

EDITABLE = ("draft", "scheduled", "paused")
FINISHED = ("completed", "cancelled")
Kind = Literal["once", "birthday"]


@dataclass(slots=True)
class CampaignSpec:
    """What a caller gives to create or change a campaign (None: unchanged / default)."""

    name: str | None = None
    text: str | None = None
    kind: Kind | None = None
    groups: list[str | int] | None = None
    contacts: list[int] | None = None
    numbers: list[str] | None = None
    send_at: datetime | None = None
    clear_send_at: bool = False
    sender: str | None = None
    label: str | None = None
    ttl: int | None = None
    priority: Priority | None = None
    channel: str | None = None
    device_id: str | None = None  # phones: send from this device (implies channel android)
    sim: int | None = None  # and this SIM slot (1-based)
    throttle: int | None = None
    quiet_start: str | None = None
    quiet_end: str | None = None
    birthday_at: str | None = None
    transactional: bool | None = None
    missing_fields: Literal["error", "empty"] | None = None
    test: bool | None = None


@dataclass(slots=True)
class CampaignView:
    row: dict[str, Any]
    counts: dict[str, int]
    cost: int
    estimate: Estimate | None = None


class CampaignService:
    def __init__(
        self, settings: Settings, db: Database, send: SendService, billing: BillingService
    ) -> None:
        self.settings = settings
        self.db = db
        self.send = send
        self.billing = billing

    async def create(self, caller: Caller, spec: CampaignSpec) -> CampaignView:
        if not spec.name or not spec.text:
            raise ValidationFailed("A campaign needs a `name` and a `text`.", code="missing_field")
        now = now_us()
        await self._check_phone(caller, spec)
        async with self.db.write() as conn:
            values = await self._values(conn, caller, spec, None, now)
            values.update(
                account_id=caller.account_id, state="draft", created_at=now, updated_at=now,
                kind=spec.kind or "once",
            )  # fmt: skip
            if values["kind"] == "birthday" and values.get("birthday_at") is None:
                values["birthday_at"] = 9 * 60
            campaign_id = await store.create(conn, values)
        return await self.get(caller, campaign_id)

    async def _check_phone(self, caller: Caller, spec: CampaignSpec) -> None:
        """A campaign naming a phone (or a SIM) sends through the android channel only."""
        if spec.device_id is None and spec.sim is None:
            return
        spec.channel = phone_channel(spec.channel, spec.device_id, spec.sim)
        if spec.device_id is not None:
            await self.send.check_device(caller.account_id, spec.device_id, spec.sim)

    async def _values(
        self,
        conn: AsyncConnection,
        caller: Caller,
        spec: CampaignSpec,
        current: dict[str, Any] | None,
        now: int,
    ) -> dict[str, Any]:
        """Checked column values for ``spec`` (only what it sets)."""
        values: dict[str, Any] = {}
        if spec.name is not None:
            name = spec.name.strip()
            if not name or len(name) > 100:
                raise ValidationFailed("A campaign name has 1 to 100 characters.",
                                       code="invalid_name")  # fmt: skip
            values["name"] = name
        if spec.text is not None:
            if not spec.text.strip():
                raise ValidationFailed("The campaign text is empty.", code="text_empty")
            values["text"] = spec.text
        targets = Targets.of(current) if current else Targets()
        if spec.groups is not None:
            targets.groups = await self._group_ids(conn, caller, spec.groups)
        if spec.contacts is not None:
            owned = await contact_store.owned_contact_ids(conn, caller.account_id, spec.contacts)
            unknown = [c for c in spec.contacts if c not in owned]
            if unknown:
                raise NotFound(f"No contact {unknown[0]} in this account.",
                               code="contact_not_found")  # fmt: skip
            targets.contacts = list(dict.fromkeys(spec.contacts))
        if spec.numbers is not None:
            targets.numbers = [n.strip() for n in spec.numbers if n.strip()]
        values["targets"] = targets.dump()
        options = orjson.loads(current["options"]) if current else {}
        if spec.sender is not None:
            options["sender"] = validate_sender(spec.sender)
        for key in ("label", "ttl", "transactional", "missing_fields", "test"):
            value = getattr(spec, key)
            if value is not None:
                options[key] = value
        if spec.priority is not None:
            options["priority"] = int(spec.priority)
        if spec.channel is not None:
            if spec.channel not in CHANNELS:
                raise ValidationFailed(
                    f"Unknown channel {spec.channel!r}; choose one of {', '.join(CHANNELS)}.",
                    code="unknown_channel",
                )
            options["channel"] = spec.channel
            if spec.channel != "android":
                options.pop("device_id", None)
                options.pop("sim", None)
        for key in ("device_id", "sim"):
            value = getattr(spec, key)
            if value is not None:
                options[key] = value
        values["options"] = orjson.dumps(options).decode()
        if spec.send_at is not None:
            at = to_us(spec.send_at)
            check_send_at(at, now)
            values["send_at"] = at
        elif spec.clear_send_at:
            values["send_at"] = None
        if spec.throttle is not None:
            values["throttle"] = spec.throttle or None
        if (spec.quiet_start is None) != (spec.quiet_end is None):
            raise ValidationFailed(
                "Quiet hours need both `start` and `end` (e.g. 21:00 and 08:00).",
                code="invalid_quiet_hours",
            )
        if spec.quiet_start is not None and spec.quiet_end is not None:
            values["quiet_start"] = parse_clock(spec.quiet_start, "quiet hours start")
            values["quiet_end"] = parse_clock(spec.quiet_end, "quiet hours end")
        if spec.birthday_at is not None:
            values["birthday_at"] = parse_clock(spec.birthday_at, "birthday_at")
        return values

    async def _group_ids(
        self, conn: AsyncConnection, caller: Caller, refs: Sequence[str | int]
    ) -> list[int]:
        out: list[int] = []
        for ref in refs:
            gid: int | None = None
            numeric = isinstance(ref, int) or ref.isdigit()
            if numeric and await group_store.owned_group_ids(conn, caller.account_id,
                                                               [int(ref)]):  # fmt: skip
                gid = int(ref)
            if gid is None:
                gid = (await group_store.group_ids_by_name(conn, caller.account_id,
                                                            [str(ref)])).get(str(ref))  # fmt: skip
            if gid is None:
                raise NotFound(
                    f"No group {ref!r}; list the account's groups with GET /api/v1/groups.",
                    code="group_not_found",
                )
            out.append(gid)
        return list(dict.fromkeys(out))

    async def _row(
        self, conn: AsyncConnection, caller: Caller, campaign_id: int, *, lock: bool = False
    ) -> dict[str, Any]:
        row = await store.get(conn, caller.account_id, campaign_id, lock=lock)
        if row is None:
            raise NotFound(
                f"No campaign {campaign_id}; list them with GET /api/v1/campaigns.",
                code="campaign_not_found",
            )
        return row

    async def get(self, caller: Caller, campaign_id: int) -> CampaignView:
        async with self.db.read() as conn:
            # Progress first: the row read after it is at least as new (a chunk written in
            # between shows in the row, never the other way round).
            counts, cost = await store.progress(conn, campaign_id)
            row = await self._row(conn, caller, campaign_id)
        return CampaignView(row, counts, cost)

    async def list(
        self, caller: Caller, state: str | None, before: int | None, limit: int
    ) -> list[CampaignView]:
        async with self.db.read() as conn:
            rows = await store.page(conn, caller.account_id, state=state, before=before,
                                    limit=limit)  # fmt: skip
            views = []
            for row in rows:
                counts, cost = await store.progress(conn, row["id"])
                views.append(CampaignView(row, counts, cost))
        return views

    async def update(self, caller: Caller, campaign_id: int, spec: CampaignSpec) -> CampaignView:
        now = now_us()
        await self._check_phone(caller, spec)
        async with self.db.write() as conn:
            row = await self._row(conn, caller, campaign_id, lock=True)
            if row["state"] not in EDITABLE:
                raise Conflict(
                    f"A {row['state']} campaign cannot be changed; pause it first.",
                    code="campaign_not_editable",
                )
            changes = await self._values(conn, caller, spec, row, now)
            if row["message_id"] is not None and (
                "text" in changes and changes["text"] != row["text"]
            ):
                raise Conflict(
                    "The campaign has started sending; its text can no longer change.",
                    code="campaign_not_editable",
                )
            await store.set_values(conn, campaign_id, **changes, updated_at=now)
        return await self.get(caller, campaign_id)

    async def delete(self, caller: Caller, campaign_id: int) -> None:
        async with self.db.write() as conn:
            row = await self._row(conn, caller, campaign_id, lock=True)
            if row["message_id"] is not None or row["state"] not in ("draft", "scheduled"):
                raise Conflict(
                    "Only a campaign that has not sent anything can be deleted; cancel it.",
                    code="campaign_started",
                )
            await store.delete(conn, campaign_id)

    async def estimate(self, caller: Caller, campaign_id: int) -> CampaignView:
        prices = (await self.billing.billing(caller.account_id)).prices
        async with self.db.read() as conn:
            row = await self._row(conn, caller, campaign_id)
            result = await estimate(conn, self.send, row, prices, now_us())
            counts, cost = await store.progress(conn, campaign_id)
        return CampaignView(row, counts, cost, result)

    async def start(self, caller: Caller, campaign_id: int) -> CampaignView:
        """draft -> scheduled (send_at ahead) or running, once every recipient is known to
        have the placeholders' values (and, for prepaid accounts, the credit is there)."""
        async with self.db.read() as conn:
            row = await self._row(conn, caller, campaign_id)
            _, prepaid = await billing_store.balance(conn, caller.account_id)
        if prepaid and row["kind"] == "once":
            found = (await self.estimate(caller, campaign_id)).estimate
        else:
            async with self.db.read() as conn:
                found = await quick_check(conn, self.send, row)
        assert found is not None
        if row["state"] != "draft":
            raise Conflict(
                f"The campaign is {row['state']}; only a draft starts (paused ones resume).",
                code="campaign_not_draft",
            )
        options = orjson.loads(row["options"])
        if found.missing_fields and options.get("missing_fields", "error") == "error":
            raise ValidationFailed(
                f"{found.missing_fields} recipient(s) lack a value for a placeholder of the "
                'text. Fill the contacts\' fields, or set `missing_fields: "empty"`.',
                code="missing_field",
                details=found.examples,
            )
        if row["kind"] == "once" and not found.recipients and not found.opted_out:
            raise ValidationFailed(
                "The campaign has no valid recipient: add groups, contacts or numbers.",
                code="no_valid_recipient",
                details=found.examples,
            )
        now = now_us()
        async with self.db.write() as conn:
            row = await self._row(conn, caller, campaign_id, lock=True)
            if row["state"] != "draft":
                raise Conflict(f"The campaign is {row['state']}.", code="campaign_not_draft")
            if not options.get("test") and row["kind"] == "once":
                balance, prepaid = await billing_store.balance(conn, caller.account_id)
                if prepaid and balance < found.price:
                    raise InsufficientCredit(
                        f"The campaign costs about {credits(found.price)} credits and the "
                        f"balance is {credits(balance)}. Top the account up first.",
                        details={"cost": credits(found.price), "balance": credits(balance)},
                    )
            state = (
                "scheduled" if row["send_at"] is not None and row["send_at"] > now else "running"
            )
            phase = 0
            if row["kind"] == "birthday":
                state, phase = "running", DONE  # waits for the day's hour, then runs
            await store.set_values(
                conn, campaign_id, state=state, total=found.recipients + found.opted_out
                + found.rejected + found.missing_fields, started_at=now, updated_at=now,
                next_due=row["send_at"] if state == "scheduled" else now, phase=phase,
            )  # fmt: skip
        return await self.get(caller, campaign_id)

    async def pause(self, caller: Caller, campaign_id: int) -> CampaignView:
        now = now_us()
        async with self.db.write() as conn:
            row = await self._row(conn, caller, campaign_id, lock=True)
            if row["state"] not in ("running", "scheduled"):
                raise Conflict(f"A {row['state']} campaign cannot be paused.",
                               code="campaign_not_running")  # fmt: skip
            await store.hold(conn, await store.message_ids(conn, campaign_id), now)
            await store.set_values(conn, campaign_id, state="paused", state_reason="paused",
                                   updated_at=now)  # fmt: skip
        return await self.get(caller, campaign_id)

    async def resume(self, caller: Caller, campaign_id: int) -> CampaignView:
        """Give the held recipients new due times (pacing from now) and go on expanding."""
        now = now_us()
        async with self.db.write() as conn:
            row = await self._row(conn, caller, campaign_id, lock=True)
            if row["state"] != "paused":
                raise Conflict(f"A {row['state']} campaign cannot be resumed.",
                               code="campaign_not_paused")  # fmt: skip
            _, timezone = await caller_of(conn, caller.account_id)
            pacing = pacing_of(row, timezone)
            clock = now
            if row["send_at"] is not None and row["send_at"] > now and row["message_id"] is None:
                clock = row["send_at"]
            test = orjson.loads(row["options"]).get("test")
            for message_id in [] if test else await store.message_ids(conn, campaign_id):
                after = -1
                while True:
                    ids = await store.held(conn, message_id, after, 5000)
                    if not ids:
                        break
                    dues, clock = pacing.slots(clock, len(ids))
                    await store.release(conn, ids, dues, now)
                    after = max((await store.positions(conn, ids[-1:])).values())
            state = "scheduled" if clock > now and row["message_id"] is None else "running"
            await store.set_values(conn, campaign_id, state=state, state_reason=None,
                                   next_due=clock, updated_at=now)  # fmt: skip
        self.send.ingest_committed()
        return await self.get(caller, campaign_id)

    async def cancel(self, caller: Caller, campaign_id: int) -> CampaignView:
        """Stop expanding and cancel every recipient that has not left (refunded per the
        account's refund policy)."""
        now = now_us()
        async with self.db.write() as conn:
            row = await self._row(conn, caller, campaign_id, lock=True)
            if row["state"] in FINISHED:
                raise Conflict(f"The campaign is already {row['state']}.",
                               code="campaign_finished")  # fmt: skip
            policy = (await billing_store.load(conn, caller.account_id)).refund_policy
            if orjson.loads(row["options"]).get("test"):
                policy = "none"  # a test campaign was never charged
            for message_id in await store.message_ids(conn, campaign_id):
                cancelled, _, _ = await message_store.cancel_pending(conn, message_id, now)
                refund = sum(price for _, price in cancelled)
                if refund and policy == "unsent":
                    await billing_store.adjust(
                        conn, caller.account_id, refund, reason="refund", now=now,
                        message_id=message_id, note=f"campaign {campaign_id} cancelled",
                    )  # fmt: skip
            await store.set_values(conn, campaign_id, state="cancelled", finished_at=now,
                                   updated_at=now)  # fmt: skip
        return await self.get(caller, campaign_id)
