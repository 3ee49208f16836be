"""Campaigns end to end on a live server (SQLite and PostgreSQL): expansion, personalisation,
opt-outs, throttle, pause/resume, cancel, schedule, birthdays."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from smsbridge.store.schema import recipients
from tests.conftest import Live, wait_for


async def add_contacts(live: Live, count: int, group: str = "customers", **extra: Any) -> None:
    items = [
        {"phone": f"+4917612{i:06d}", "firstname": f"Name{i}", "groups": [group], **extra}
        for i in range(count)
    ]
    r = await live.client.post("/api/v1/contacts", json=items, headers=live.headers)
    assert r.status_code == 200, r.text
    assert not r.json()["errors"]


async def campaign(live: Live, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    r = await live.client.post("/api/v1/campaigns", json=body, headers=live.headers)
    assert r.status_code == status, r.text
    result: dict[str, Any] = r.json()
    return result


async def get(live: Live, campaign_id: int) -> dict[str, Any]:
    r = await live.client.get(f"/api/v1/campaigns/{campaign_id}", headers=live.headers)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def until_state(
    live: Live, campaign_id: int, state: str, timeout: float = 20
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        body = await get(live, campaign_id)
        return body if body["state"] == state else None

    result: dict[str, Any] = await wait_for(check, timeout=timeout)
    return result


async def test_campaign_to_group_and_numbers_completes(live: Live) -> None:
    await add_contacts(live, 40)
    r = await live.client.post(
        "/api/v1/opt-outs", json={"numbers": ["+4917612000003"]}, headers=live.headers
    )
    assert r.status_code == 201
    body = await campaign(
        live,
        {
            "name": "spring",
            "text": "Hi {{firstname}}!",
            "missing_fields": "empty",
            "targets": {"groups": ["customers"],
                        "numbers": ["+4917612000001", "+436501234567", "+436501234567"]},
        },
    )  # fmt: skip
    assert body["state"] == "draft"
    r = await live.client.get(f"/api/v1/campaigns/{body['id']}/estimate", headers=live.headers)
    estimate = r.json()["estimate"]
    assert estimate["recipients"] == 40  # 39 contacts not opted out + 1 extra number
    assert estimate["opted_out"] == 1
    assert estimate["price"] == 40.0
    r = await live.client.post(f"/api/v1/campaigns/{body['id']}/start", headers=live.headers)
    assert r.status_code == 200, r.text
    done = await until_state(live, body["id"], "completed")
    progress = done["progress"]
    assert progress["total"] == 41
    assert progress["expanded"] == 41  # the repeated number and the contact's number once
    assert progress["delivered"] + progress["sent"] == 40
    assert progress["skipped"] == 1
    assert done["cost"] == 40.0
    r = await live.client.get(f"/api/v1/messages/{done['message_id']}", headers=live.headers)
    message = r.json()
    texts = {rc["to"]: rc.get("text") for rc in message["recipients"]}
    assert texts["+4917612000007"] == "Hi Name7!"
    assert texts["+436501234567"] == "Hi !"
    rejected = [rc for rc in message["recipients"] if rc["status"] == "rejected"]
    assert [rc["error"]["code"] for rc in rejected] == ["opted_out"]


async def test_missing_placeholder_refuses_start(live: Live) -> None:
    await add_contacts(live, 3)
    body = await campaign(
        live, {"name": "x", "text": "Code {{extra1}}", "targets": {"groups": ["customers"]}}
    )
    r = await live.client.post(f"/api/v1/campaigns/{body['id']}/start", headers=live.headers)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "missing_field"
    assert (await get(live, body["id"]))["state"] == "draft"
    r = await live.client.patch(
        f"/api/v1/campaigns/{body['id']}", json={"missing_fields": "empty"}, headers=live.headers
    )
    assert r.status_code == 200, r.text
    r = await live.client.post(f"/api/v1/campaigns/{body['id']}/start", headers=live.headers)
    assert r.status_code == 200, r.text
    await until_state(live, body["id"], "completed")


async def test_throttle_spaces_due_times_and_pause_resume_cancel(live: Live) -> None:
    await add_contacts(live, 6)
    body = await campaign(
        live,
        {"name": "slow", "text": "Hello", "targets": {"groups": ["customers"]},
         "throttle": 6, "start": True},
    )  # fmt: skip
    cid = body["id"]

    async def expanded() -> dict[str, Any] | None:
        view = await get(live, cid)
        return view if view["progress"]["expanded"] == 6 else None

    view = await wait_for(expanded)
    async with live.gateway.db.read() as conn:
        dues = (
            (
                await conn.execute(
                    select(recipients.c.due_at)
                    .where(
                        recipients.c.message_id == int(view["message_id"]),
                        recipients.c.status == "queued",  # not yet claimed (a claim moves due_at)
                    )
                    .order_by(recipients.c.position)
                )
            )
            .scalars()
            .all()
        )
    waiting = [d for d in dues if d is not None]
    gaps = [b - a for a, b in itertools.pairwise(waiting)]
    assert gaps and all(g == 10_000_000 for g in gaps)  # 6 per minute
    r = await live.client.post(f"/api/v1/campaigns/{cid}/pause", headers=live.headers)
    assert r.json()["state"] == "paused"
    async with live.gateway.db.read() as conn:
        held = (
            await conn.execute(
                select(recipients.c.id).where(
                    recipients.c.message_id == int(view["message_id"]),
                    recipients.c.status == "queued",
                    recipients.c.due_at.is_(None),
                )
            )
        ).all()
    assert len(held) >= 4
    r = await live.client.post(f"/api/v1/campaigns/{cid}/pause", headers=live.headers)
    assert r.status_code == 409
    r = await live.client.post(f"/api/v1/campaigns/{cid}/resume", headers=live.headers)
    assert r.json()["state"] == "running"
    r = await live.client.post(f"/api/v1/campaigns/{cid}/cancel", headers=live.headers)
    cancelled = r.json()
    assert cancelled["state"] == "cancelled"
    assert cancelled["progress"]["cancelled"] >= 3
    r = await live.client.post(f"/api/v1/campaigns/{cid}/resume", headers=live.headers)
    assert r.status_code == 409


async def test_scheduled_campaign_waits_for_send_at(live: Live) -> None:
    await add_contacts(live, 2)
    at = datetime.now(UTC) + timedelta(seconds=2)
    body = await campaign(
        live,
        {"name": "later", "text": "Hello", "targets": {"groups": ["customers"]},
         "send_at": at.isoformat(), "start": True},
    )  # fmt: skip
    assert body["state"] == "scheduled"
    done = await until_state(live, body["id"], "completed")
    assert done["progress"]["expanded"] == 2


async def test_birthday_campaign_greets_todays_birthdays(live: Live) -> None:
    today = datetime.now(UTC).date()
    items = [
        {"phone": "+4917612000001", "firstname": "Ann",
         "birthday": today.replace(year=1990).isoformat()},
        {"phone": "+4917612000002", "firstname": "Bob", "birthday": "1990-01-01"
         if today.strftime("%m-%d") != "01-01" else "1990-01-02"},
    ]  # fmt: skip
    r = await live.client.post("/api/v1/contacts", json=items, headers=live.headers)
    assert r.status_code == 200, r.text
    body = await campaign(
        live,
        {"name": "bday", "kind": "birthday", "text": "Happy birthday {{firstname}}!",
         "birthday_at": "00:00", "start": True},
    )  # fmt: skip
    assert body["state"] == "running"

    async def greeted() -> dict[str, Any] | None:
        view = await get(live, body["id"])
        return view if view["progress"]["delivered"] == 1 else None

    view = await wait_for(greeted)
    r = await live.client.get(f"/api/v1/messages/{view['message_id']}", headers=live.headers)
    (only,) = r.json()["recipients"]
    assert only["to"] == "+4917612000001"
    assert only["text"] == "Happy birthday Ann!"


async def test_campaign_errors(live: Live) -> None:
    r = await live.client.post(
        "/api/v1/campaigns",
        json={"name": "x", "text": "y", "targets": {"groups": ["nope"]}},
        headers=live.headers,
    )
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "group_not_found"
    r = await live.client.post(
        "/api/v1/campaigns",
        json={"name": "x", "text": "y", "quiet_hours": {"start": "25:00", "end": "08:00"}},
        headers=live.headers,
    )
    assert r.status_code == 422
    body = await campaign(live, {"name": "empty", "text": "y"})
    r = await live.client.post(f"/api/v1/campaigns/{body['id']}/start", headers=live.headers)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "no_valid_recipient"
    r = await live.client.get("/api/v1/campaigns/999999", headers=live.headers)
    assert r.status_code == 404
    r = await live.client.delete(f"/api/v1/campaigns/{body['id']}", headers=live.headers)
    assert r.status_code == 204


async def test_a_campaign_naming_a_phone_is_checked(live: Live) -> None:
    await add_contacts(live, 1)
    base = {"name": "by phone", "text": "hi", "targets": {"groups": ["customers"]}}
    unknown = await campaign(live, {**base, "device_id": "no-such-phone"}, 422)
    assert unknown["error"]["code"] == "device_not_found"
    other = await campaign(live, {**base, "device_id": "x", "channel": "simulator"}, 422)
    assert other["error"]["code"] == "device_needs_android"
    sim_only = await campaign(live, {**base, "sim": 2})
    assert (sim_only["channel"], sim_only["sim"], sim_only["device_id"]) == ("android", 2, None)
