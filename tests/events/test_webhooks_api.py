"""/api/v1/webhooks: subscriptions, their validation, filters, per-message callbacks, test
deliveries, the delivery log and dead letters, against a real receiver on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from smsbridge.services.webhooks import MAX_PER_ACCOUNT
from smsbridge.store.schema import webhook_attempts, webhook_deliveries
from smsbridge.testing.webhook_receiver import Received, WebhookReceiver
from tests.conftest import Live, wait_for

FAST = {
    "webhooks_allow_private": True,
    "webhooks_retry_base_seconds": 0.05,
    "webhooks_retry_max_seconds": 0.2,
    "webhooks_poll_interval_ms": 20,
}
MESSAGE_EVENTS = ["message.queued", "message.sent", "message.delivered"]


def number(i: int) -> str:
    return f"+49176123{45000 + i}"


def event_of(request: Received) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(request.body)
    return body


def signed_with(secret: str, request: Received) -> bool:
    ts = request.headers["x-smsbridge-timestamp"]
    expected = hmac.new(secret.encode(), ts.encode() + b"." + request.body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), request.headers["x-smsbridge-signature"])


async def create(live: Live, status: int = 201, **body: Any) -> dict[str, Any]:
    r = await live.client.post("/api/v1/webhooks", json=body, headers=live.headers)
    assert r.status_code == status, r.text
    out: dict[str, Any] = r.json()
    return out


async def send(live: Live, **body: Any) -> str:
    r = await live.client.post("/api/v1/messages", json=body, headers=live.headers)
    assert r.status_code == 202, r.text
    message_id: str = r.json()["id"]
    return message_id


async def get_webhook(live: Live, webhook_id: str) -> dict[str, Any]:
    r = await live.client.get(f"/api/v1/webhooks/{webhook_id}", headers=live.headers)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def deliveries_of(live: Live, webhook_id: str, **params: Any) -> list[dict[str, Any]]:
    r = await live.client.get(
        f"/api/v1/webhooks/{webhook_id}/deliveries", params=params, headers=live.headers
    )
    assert r.status_code == 200, r.text
    out: list[dict[str, Any]] = r.json()["deliveries"]
    return out


def assert_error(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, (code, r.status_code, r.text)
    error = r.json()["error"]
    assert error["code"] == code, (code, r.text)
    assert isinstance(error["message"], str) and error["message"]


@pytest.fixture
async def receiver() -> Any:
    started = await WebhookReceiver().start()
    yield started
    await started.stop()


# -- subscriptions ---------------------------------------------------------------------------


async def test_create_list_get_patch_rotate_delete(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    url = "https://hooks.example.com/sms?team=ops"
    first = await create(live, url=url, events=["message.delivered", "message.failed"])
    assert first["secret"].startswith("whsec_") and len(first["secret"]) >= 40
    assert first["url"] == url and first["events"] == ["message.delivered", "message.failed"]
    assert first["enabled"] is True and first["headers"] == {} and first["label"] is None
    assert first["created_at"] and first["updated_at"]
    given_secret = "s3cret-of-my-own-choosing"
    second = await create(
        live,
        url="http://hooks.example.com/b",
        events=["*"],
        secret=given_secret,
        label="otp",
        headers={"Authorization": "Bearer receiver-token"},
        description="the second",
        enabled=False,
    )
    assert second["secret"] == given_secret and second["events"] == ["*"]
    assert second["headers"] == {"Authorization": "Bearer receiver-token"}
    assert second["label"] == "otp" and second["description"] == "the second"
    assert second["enabled"] is False
    # the secret is shown once: neither the list nor one webhook carries it
    r = await live.client.get("/api/v1/webhooks", headers=live.headers)
    assert r.status_code == 200
    listed = r.json()["webhooks"]
    assert [w["id"] for w in listed] == [first["id"], second["id"]]
    assert all("secret" not in w for w in listed)
    one = await get_webhook(live, first["id"])
    assert "secret" not in one and one["deliveries"] == {}
    assert {k: v for k, v in one.items() if k != "deliveries"} == {
        k: v for k, v in first.items() if k != "secret"
    }
    # duplicates in `events` are dropped, the order kept
    dup = await create(live, url=url, events=["message.sent", "message.sent", "message.failed"])
    assert dup["events"] == ["message.sent", "message.failed"]

    r = await live.client.patch(
        f"/api/v1/webhooks/{first['id']}",
        json={"events": ["message.inbound"], "enabled": False, "url": "https://b.example.org/x"},
        headers=live.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["events"] == ["message.inbound"] and r.json()["enabled"] is False
    assert r.json()["url"] == "https://b.example.org/x"
    assert r.json()["created_at"] == first["created_at"]
    r = await live.client.patch(
        f"/api/v1/webhooks/{second['id']}",
        json={"label": None, "headers": None, "enabled": True, "description": ""},
        headers=live.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["label"] is None and r.json()["headers"] == {}
    assert r.json()["enabled"] is True and r.json()["description"] is None
    assert r.json()["url"] == "http://hooks.example.com/b"  # what was not given stays
    r = await live.client.patch(f"/api/v1/webhooks/{second['id']}", json={}, headers=live.headers)
    assert r.status_code == 200 and r.json()["events"] == ["*"], r.text

    r = await live.client.post(
        f"/api/v1/webhooks/{first['id']}/rotate-secret", headers=live.headers
    )
    assert r.status_code == 200, r.text
    rotated = r.json()["secret"]
    assert rotated.startswith("whsec_") and rotated != first["secret"]
    r = await live.client.post(
        f"/api/v1/webhooks/{first['id']}/rotate-secret", headers=live.headers
    )
    assert r.json()["secret"] not in (rotated, first["secret"])

    r = await live.client.delete(f"/api/v1/webhooks/{first['id']}", headers=live.headers)
    assert r.status_code == 204 and r.content == b""
    r = await live.client.get(f"/api/v1/webhooks/{first['id']}", headers=live.headers)
    assert_error(r, 404, "webhook_not_found")
    r = await live.client.delete(f"/api/v1/webhooks/{first['id']}", headers=live.headers)
    assert_error(r, 404, "webhook_not_found")
    r = await live.client.get("/api/v1/webhooks", headers=live.headers)
    assert [w["id"] for w in r.json()["webhooks"]] == [second["id"], dup["id"]]


async def test_unknown_and_malformed_ids_are_404(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    hook = await create(live, url="https://hooks.example.com/", events=["*"], enabled=False)
    for ident in ("999999", "0", "abc", "-1", "1.5", "1e3", "١٢", "9" * 19,
                  "9223372036854775808", "%20"):  # fmt: skip
        calls: list[tuple[str, str, Any]] = [
            ("GET", f"/api/v1/webhooks/{ident}", None),
            ("PATCH", f"/api/v1/webhooks/{ident}", {"enabled": True}),
            ("DELETE", f"/api/v1/webhooks/{ident}", None),
            ("POST", f"/api/v1/webhooks/{ident}/rotate-secret", None),
            ("POST", f"/api/v1/webhooks/{ident}/test", None),
            ("GET", f"/api/v1/webhooks/{ident}/deliveries", None),
            ("POST", f"/api/v1/webhooks/{ident}/redeliver", None),
            ("POST", f"/api/v1/webhooks/{ident}/deliveries/1/redeliver", None),
        ]
        for method, url, body in calls:
            r = await live.client.request(method, url, json=body, headers=live.headers)
            assert_error(r, 404, "webhook_not_found")
        r = await live.client.post(
            f"/api/v1/webhooks/{hook['id']}/deliveries/{ident}/redeliver", headers=live.headers
        )
        assert_error(r, 404, "delivery_not_found")
    r = await live.client.get(f"/api/v1/webhooks/{hook['id']}", headers=live.headers)
    assert r.json()["enabled"] is False  # nothing changed


async def test_delete_drops_pending_deliveries(
    live_factory: Any, database_url: str, receiver: WebhookReceiver
) -> None:
    live = await live_factory(database_url, **FAST)
    doomed = await create(live, url=receiver.url + "/doomed", events=["*"])
    kept = await create(live, url=receiver.url + "/kept", events=["message.delivered"])
    receiver.fail_next(10_000)  # nothing is accepted: the deliveries stay open
    for i in range(3):
        await send(live, to=number(i), text="x")

    def tried(path: str) -> int:
        return len([r for r in receiver.received if r.path == path])

    async def all_queued_and_tried() -> bool:
        counts = (await get_webhook(live, doomed["id"]))["deliveries"]
        kept_counts = (await get_webhook(live, kept["id"]))["deliveries"]
        return (
            set(counts) <= {"ready", "waiting"}
            and sum(counts.values()) == 9
            and sum(kept_counts.values()) == 3
            and tried("/hooks/doomed") > 0
        )

    await wait_for(all_queued_and_tried)
    r = await live.client.delete(f"/api/v1/webhooks/{doomed['id']}", headers=live.headers)
    assert r.status_code == 204
    assert await outbox_rows(live, int(doomed["id"])) == 0
    assert await outbox_rows(live, int(kept["id"])) == 3  # the other webhook keeps its own
    # an attempt in flight at the delete may still end; none is started after that
    await asyncio.sleep(0.4)
    before = tried("/hooks/doomed")
    kept_before = tried("/hooks/kept")
    await asyncio.sleep(0.6)
    assert tried("/hooks/doomed") == before
    assert tried("/hooks/kept") > kept_before  # the sender is still at work for the other one
    assert await outbox_rows(live, int(doomed["id"])) == 0


async def test_delete_while_events_are_published_queues_nothing_for_it(
    live_factory: Any, database_url: str, receiver: WebhookReceiver
) -> None:
    """The publisher reads the subscriptions, then the events, then queues deliveries: a
    delete committed in between must not leave deliveries for the deleted webhook."""
    live = await live_factory(database_url, **FAST)
    hook = await create(live, url=receiver.url, events=["*"])
    feed = live.gateway.publisher.feed
    read = feed.read
    deleted = asyncio.Event()

    async def read_then_delete(*args: Any, **kwargs: Any) -> Any:
        result = await read(*args, **kwargs)
        if result[0] and not deleted.is_set():  # events to publish, subscriptions read
            r = await live.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=live.headers)
            assert r.status_code == 204, r.text
            deleted.set()
        return result

    await send(live, to=number(1), text="x")
    await until(lambda: len(receiver.accepted()) == 3)  # the sender knows the webhook now
    feed.read = read_then_delete
    await send(live, to=number(2), text="x")
    await asyncio.wait_for(deleted.wait(), 10)
    await asyncio.sleep(0.5)
    after_delete = [event_of(x)["type"] for x in receiver.received[3:]]
    left = await outbox_rows(live, int(hook["id"]))
    # BUG (src/smsbridge/services/webhook_publisher.py, publish_once): the subscriptions are
    # read in one transaction and the deliveries written in another, without checking that
    # the webhooks still exist. The sender POSTs such deliveries while it still has the
    # webhook's config cached (webhook_sender._CONFIG_TTL, 2 s), and afterwards dead-letters
    # them ("the subscription was deleted") as rows no API shows.
    assert (left, after_delete) == (0, []), (
        f"{left} delivery row(s) queued for the deleted webhook, POSTed after the delete: "
        f"{after_delete}"
    )


async def outbox_rows(live: Live, webhook_id: int) -> int:
    d = webhook_deliveries
    async with live.gateway.db.read() as conn:
        query = select(func.count()).where(d.c.webhook_id == webhook_id)
        return int((await conn.execute(query)).scalar_one())


async def test_delete_during_an_attempt_leaves_no_attempt_rows(
    live_factory: Any, database_url: str, receiver: WebhookReceiver
) -> None:
    live = await live_factory(database_url, **FAST)
    hook = await create(live, url=receiver.url, events=["message.delivered"])
    receiver.delay = 1.0  # every attempt is in flight for a second
    receiver.fail_next(100)
    await send(live, to=number(1), text="x")

    async def in_flight() -> list[dict[str, Any]]:
        found = await deliveries_of(live, hook["id"])
        return [d for d in found if d["attempts"] >= 1] if not receiver.received else []

    delivery_id = int((await wait_for(in_flight))[0]["id"])
    r = await live.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=live.headers)
    assert r.status_code == 204

    async def answered() -> bool:
        return bool(receiver.received)

    await wait_for(answered)
    await asyncio.sleep(0.5)  # the attempt's result is written
    assert await outbox_rows(live, int(hook["id"])) == 0
    async with live.gateway.db.read() as conn:
        query = select(func.count()).where(webhook_attempts.c.delivery_id == delivery_id)
        orphans = int((await conn.execute(query)).scalar_one())
    # BUG (src/smsbridge/store/deliveries.py, finish): the failed attempt of a delivery deleted
    # meanwhile (its webhook was deleted) is still logged in webhook_attempts; prune() never
    # removes it, as it only deletes attempts of the deliveries it prunes.
    assert orphans == 0, f"{orphans} attempt row(s) of a deleted delivery remain"


# -- validation ------------------------------------------------------------------------------

VALID = {"url": "https://hooks.example.com/sms", "events": ["*"]}
CREATE_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"url": "ftp://example.com/hooks"}, "invalid_url"),
    ({"url": "example.com/hooks"}, "invalid_url"),
    ({"url": "http://"}, "invalid_url"),
    ({"url": "https:///path-only"}, "invalid_url"),
    ({"url": "https://user:pass@example.com/hooks"}, "invalid_url"),
    ({"url": "https://token@example.com/hooks"}, "invalid_url"),
    ({"url": "https://example.com:99999/"}, "invalid_url"),
    ({"url": "https://example.com:0/"}, "invalid_url"),
    ({"url": "https://example.com/a b"}, "invalid_url"),
    ({"url": "https://example.com/a\r\nX-Injected: 1"}, "invalid_url"),
    ({"url": "javascript:alert(1)"}, "invalid_url"),
    ({"url": ""}, "invalid_url"),
    ({"url": "http://127.0.0.1:8080/hooks"}, "private_address"),
    ({"url": "http://localhost/hooks"}, "private_address"),
    ({"url": "http://LocalHost:8080/hooks"}, "private_address"),
    ({"url": "http://api.localhost/hooks"}, "private_address"),
    ({"url": "http://10.1.2.3/hooks"}, "private_address"),
    ({"url": "http://192.168.0.10/hooks"}, "private_address"),
    ({"url": "http://172.16.5.4/hooks"}, "private_address"),
    ({"url": "http://169.254.169.254/latest/meta-data/"}, "private_address"),
    ({"url": "http://100.64.0.1/hooks"}, "private_address"),
    ({"url": "http://0.0.0.0/hooks"}, "private_address"),
    ({"url": "http://[::1]/hooks"}, "private_address"),
    ({"url": "http://[::ffff:127.0.0.1]/hooks"}, "private_address"),
    ({"url": "http://[fe80::1]/hooks"}, "private_address"),
    ({"events": ["message.bogus"]}, "unknown_event"),
    ({"events": ["message.sent", "MESSAGE.SENT"]}, "unknown_event"),
    ({"events": [""]}, "unknown_event"),
    ({"events": ["webhook.test"]}, "unknown_event"),
    ({"headers": {"Content-Type": "text/plain"}}, "invalid_headers"),
    ({"headers": {"content-length": "5"}}, "invalid_headers"),
    ({"headers": {"Host": "evil.example"}}, "invalid_headers"),
    ({"headers": {"X-Smsbridge-Foo": "x"}}, "invalid_headers"),
    ({"headers": {"x-smsbridge-signature": "forged"}}, "invalid_headers"),
    ({"headers": {"X-Token": "a\r\nX-Injected: 1"}}, "invalid_headers"),
    ({"headers": {"X-Token": "a\nb"}}, "invalid_headers"),
    ({"headers": {"X-Token": "a\x00b"}}, "invalid_headers"),
    ({"headers": {"Bad Name": "x"}}, "invalid_headers"),
    ({"headers": {"X-Bad:Name": "x"}}, "invalid_headers"),
    ({"headers": {"": "x"}}, "invalid_headers"),
    ({"headers": {"X-Long": "x" * 1001}}, "invalid_headers"),
    ({"headers": {f"X-H{i}": "x" for i in range(21)}}, "invalid_headers"),
    ({"secret": "too-short"}, "invalid_secret"),
    ({"secret": "x" * 129}, "invalid_secret"),
    ({"secret": "sixteen-chars-\x00-with-a-nul"}, "invalid_secret"),
    ({"secret": "sixteen chars\nwith a newline"}, "invalid_secret"),
    ({"campaign_id": "999999"}, "campaign_not_found"),
    ({"campaign_id": 999999}, "campaign_not_found"),
]


async def test_create_and_patch_refuse_bad_input(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url)  # webhooks_allow_private is False by default
    hook = await create(live, **VALID)
    wrong: list[tuple[str, dict[str, Any], int, str]] = []
    for override, code in CREATE_ERRORS:
        for method, url, body in (
            ("POST", "/api/v1/webhooks", {**VALID, **override}),
            ("PATCH", f"/api/v1/webhooks/{hook['id']}", override),
        ):
            r = await live.client.request(method, url, json=body, headers=live.headers)
            got = r.json().get("error", {}).get("code") if r.status_code >= 400 else None
            if (r.status_code, got) != (422, code):
                wrong.append((method, override, r.status_code, r.text[:200]))
            elif not r.json()["error"]["message"]:
                wrong.append((method, override, r.status_code, "no message"))
    assert not wrong, "\n".join(map(str, wrong))
    # nothing was created or changed
    r = await live.client.get("/api/v1/webhooks", headers=live.headers)
    assert [w["id"] for w in r.json()["webhooks"]] == [hook["id"]]
    assert {k: v for k, v in r.json()["webhooks"][0].items() if k != "updated_at"} == {
        k: v for k, v in hook.items() if k not in ("secret", "updated_at")
    }


async def test_schema_errors(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url)
    for body in (
        {"events": ["*"]},  # no url
        {"url": VALID["url"]},  # no events
        {**VALID, "events": []},
        {**VALID, "events": "message.sent"},
        {**VALID, "url": 5},
        {**VALID, "headers": {"X-Number": 5}},
        {**VALID, "surprise": True},
        {**VALID, "enabled": "maybe"},
        {**VALID, "events": ["message.sent"] * 21},
        {**VALID, "description": "d" * 201},
        {**VALID, "label": "l" * 101},
    ):
        r = await live.client.post("/api/v1/webhooks", json=body, headers=live.headers)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] in ("invalid_request", "invalid_events", "invalid_url")
    r = await live.client.post(
        "/api/v1/webhooks", content=b"{not json", headers={**live.headers,
                                                           "Content-Type": "application/json"}
    )  # fmt: skip
    assert_error(r, 400, "invalid_json")
    hook = await create(live, **VALID)
    # null for a required setting on a change
    r = await live.client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"events": None}, headers=live.headers
    )
    assert_error(r, 422, "invalid_events")
    r = await live.client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"url": None}, headers=live.headers
    )
    assert_error(r, 422, "invalid_url")
    # the log's own parameters
    base = f"/api/v1/webhooks/{hook['id']}/deliveries"
    r = await live.client.get(base, params={"state": "lost"}, headers=live.headers)
    assert_error(r, 422, "invalid_state")
    r = await live.client.get(base, params={"cursor": "abc"}, headers=live.headers)
    assert_error(r, 422, "invalid_cursor")
    for limit in ("0", "501", "x"):
        r = await live.client.get(base, params={"limit": limit}, headers=live.headers)
        assert r.status_code == 422, r.text


async def test_too_long_url_is_invalid_url(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url)
    r = await live.client.post(
        "/api/v1/webhooks",
        json={**VALID, "url": "https://hooks.example.com/" + "a" * 1974},  # 2000: the limit
        headers=live.headers,
    )
    assert r.status_code == 201, r.text
    r = await live.client.post(
        "/api/v1/webhooks",
        json={**VALID, "url": "https://hooks.example.com/" + "a" * 1975},
        headers=live.headers,
    )
    assert r.status_code == 422, r.text
    # BUG (src/smsbridge/api/v1/webhooks.py, WebhookIn.url / WebhookPatch.url): the schema's
    # max_length=2000 answers first with the generic invalid_request, so netguard's own
    # "longer than 2000 characters" invalid_url is never reached.
    assert r.json()["error"]["code"] == "invalid_url", r.text


async def test_campaign_id_not_a_number_is_like_an_unknown_one(
    live_factory: Any, database_url: str
) -> None:
    live = await live_factory(database_url)
    r = await live.client.post(
        "/api/v1/webhooks", json={**VALID, "campaign_id": "999999"}, headers=live.headers
    )
    assert_error(r, 422, "campaign_not_found")
    # BUG (src/smsbridge/api/v1/webhooks.py, _fields): a campaign_id that is not a number is
    # answered 404 (NotFound) while an unknown numeric one is 422 (ValidationFailed in the
    # service): the same mistake in the same body field gets two different statuses.
    r = await live.client.post(
        "/api/v1/webhooks", json={**VALID, "campaign_id": "abc"}, headers=live.headers
    )
    assert_error(r, 422, "campaign_not_found")


async def test_private_addresses_allowed_when_configured(
    live_factory: Any, database_url: str
) -> None:
    live = await live_factory(database_url, webhooks_allow_private=True)
    for url in ("http://127.0.0.1:9/hooks", "http://localhost/x", "http://10.0.0.1/"):
        await create(live, url=url, events=["*"], enabled=False)
    # but not a URL that is malformed
    r = await live.client.post(
        "/api/v1/webhooks", json={**VALID, "url": "ftp://127.0.0.1/"}, headers=live.headers
    )
    assert_error(r, 422, "invalid_url")


async def test_names_of_private_addresses_are_refused_when_sent(
    live_factory: Any, database_url: str, receiver: WebhookReceiver
) -> None:
    """Hosts that are not IP literals are resolved at every delivery; one that resolves to a
    private address gets nothing, whether refused at once or only when sent."""
    live = await live_factory(database_url, webhooks_poll_interval_ms=20)
    for host in ("127.1", "2130706433", "0x7f.0.0.1"):
        url = f"http://{host}:{receiver.port}/hooks"
        r = await live.client.post(
            "/api/v1/webhooks", json={"url": url, "events": ["*"]}, headers=live.headers
        )
        if r.status_code == 422:
            assert_error(r, 422, "private_address")
            continue
        assert r.status_code == 201, r.text
        hook = r.json()["id"]
        r = await live.client.post(f"/api/v1/webhooks/{hook}/test", headers=live.headers)
        assert r.status_code == 200, r.text
        assert r.json()["delivered"] is False and "private address" in r.json()["error"], host
    await send(live, to=number(1), text="x")
    await asyncio.sleep(0.5)
    assert receiver.received == []


async def test_at_most_fifty_webhooks(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url)
    for i in range(MAX_PER_ACCOUNT):
        await create(live, url=f"https://hooks.example.com/{i}", events=["*"], enabled=False)
    r = await live.client.post("/api/v1/webhooks", json=VALID, headers=live.headers)
    assert_error(r, 422, "too_many_webhooks")
    r = await live.client.get("/api/v1/webhooks", headers=live.headers)
    assert len(r.json()["webhooks"]) == MAX_PER_ACCOUNT
    r = await live.client.delete(
        f"/api/v1/webhooks/{r.json()['webhooks'][0]['id']}", headers=live.headers
    )
    assert r.status_code == 204
    await create(live, **VALID)  # room for one again


def _no_500(r: Any) -> None:
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.json()["error"]["code"]


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(
        ["*", "message.sent", "http://[::1", "https://ex.com:0/", "https://%zz/", "http://ü.de/",
         "https://example.com/\x00", "0", "-1", "9" * 30, "😀" * 20, "x" * 3000]
    )
)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
FIELDS = ["url", "events", "secret", "label", "campaign_id", "headers", "description", "enabled"]
bodies = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=len(FIELDS))


@pytest.fixture
async def sqlite_live(live_factory: Any, tmp_path: Path, sqlite_template: Path) -> Live:
    """The fuzzing exercises the API, not the database: one run on SQLite is enough."""
    path = tmp_path / "fuzz.db"
    shutil.copy(sqlite_template, path)
    result: Live = await live_factory(f"sqlite:///{path}")
    return result


@given(body=bodies)
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
async def test_no_input_makes_a_500(sqlite_live: Live, body: Any) -> None:
    live = sqlite_live
    _no_500(await live.client.post("/api/v1/webhooks", json=body, headers=live.headers))
    r = await live.client.post("/api/v1/webhooks", json={**VALID, **body}, headers=live.headers)
    _no_500(r)
    r = await live.client.get("/api/v1/webhooks", headers=live.headers)
    assert r.status_code == 200
    hooks = r.json()["webhooks"]
    if len(hooks) >= MAX_PER_ACCOUNT - 5:
        for hook in hooks:
            await live.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=live.headers)
        hooks = [await create(live, **VALID, enabled=False)]
    if hooks:
        r = await live.client.patch(
            f"/api/v1/webhooks/{hooks[-1]['id']}", json=body, headers=live.headers
        )
        _no_500(r)
        assert (await live.client.get("/api/v1/webhooks", headers=live.headers)).is_success


# -- what goes where -------------------------------------------------------------------------


async def until(check: Any, timeout: float = 10.0) -> None:
    async def predicate() -> bool:
        return bool(check())

    await wait_for(predicate, timeout=timeout)


def events_at(receiver: WebhookReceiver, path: str) -> list[dict[str, Any]]:
    """The events the receiver accepted at ``/hooks<path>``, in arrival order."""
    return [event_of(x) for x in receiver.accepted() if x.path == "/hooks" + path]


async def test_label_event_type_and_creation_time_filters(
    live_factory: Any, database_url: str, receiver: WebhookReceiver
) -> None:
    live = await live_factory(database_url, **FAST)
    await create(live, url=receiver.url + "/all", events=["*"])
    await create(live, url=receiver.url + "/otp", events=["*"], label="otp")
    await create(live, url=receiver.url + "/final", events=["message.delivered", "message.failed"])
    await create(live, url=receiver.url + "/news-queued", events=["message.queued"], label="news")
    off = await create(live, url=receiver.url + "/off", events=["*"], enabled=False)
    a = await send(live, to=number(1), text="a", label="otp")
    b = await send(live, to=number(2), text="b", label="news")
    c = await send(live, to=number(3), text="c")
    await until(lambda: len(events_at(receiver, "/all")) == 9)
    await until(lambda: len(events_at(receiver, "/final")) == 3)
    await asyncio.sleep(0.3)  # anything else that was coming has come
    everything = events_at(receiver, "/all")
    assert sorted(e["type"] for e in everything) == sorted(MESSAGE_EVENTS * 3)
    assert {e["data"]["message_id"] for e in everything} == {a, b, c}
    otp = events_at(receiver, "/otp")
    assert [e["type"] for e in otp] == MESSAGE_EVENTS
    assert {e["data"]["message_id"] for e in otp} == {a}
    assert all(e["data"]["label"] == "otp" for e in otp)
    final = events_at(receiver, "/final")
    assert {e["type"] for e in final} == {"message.delivered"}
    assert sorted(e["data"]["message_id"] for e in final) == sorted([a, b, c])
    queued = events_at(receiver, "/news-queued")
    assert [(e["type"], e["data"]["message_id"]) for e in queued] == [("message.queued", b)]
    assert events_at(receiver, "/off") == []
    assert len(receiver.received) == len(receiver.accepted()) == 9 + 3 + 3 + 1

    # A subscription created after events does not get them ...
    await create(live, url=receiver.url + "/late", events=["*"])
    d = await send(live, to=number(4), text="d")
    await until(lambda: len(events_at(receiver, "/late")) == 3)
    assert [e["type"] for e in events_at(receiver, "/late")] == MESSAGE_EVENTS
    assert {e["data"]["message_id"] for e in events_at(receiver, "/late")} == {d}
    # ... even when it is created while the publisher has not yet handled them.
    e = await send(live, to=number(5), text="e")
    racing = await create(live, url=receiver.url + "/racing", events=["*"])
    await until(lambda: len(events_at(receiver, "/all")) == 15)
    await asyncio.sleep(0.3)
    got = events_at(receiver, "/racing")
    assert "message.queued" not in [x["type"] for x in got]  # queued before it existed
    assert all(x["created_at"] >= racing["created_at"] for x in got), (racing, got)
    assert {x["data"]["message_id"] for x in got} <= {e}

    # A disabled subscription gets nothing; enabled again, it gets what happens from then on.
    r = await live.client.patch(
        f"/api/v1/webhooks/{off['id']}", json={"enabled": True}, headers=live.headers
    )
    assert r.status_code == 200 and r.json()["enabled"] is True
    f = await send(live, to=number(6), text="f")
    await until(lambda: len(events_at(receiver, "/off")) == 3)
    assert {x["data"]["message_id"] for x in events_at(receiver, "/off")} == {f}
    # and changing the events of a subscription applies to the next events
    r = await live.client.patch(
        f"/api/v1/webhooks/{off['id']}", json={"events": ["message.sent"]}, headers=live.headers
    )
    assert r.status_code == 200
    g = await send(live, to=number(7), text="g")
    await until(lambda: len(events_at(receiver, "/all")) == 21)
    await until(lambda: len(events_at(receiver, "/off")) == 4)
    await asyncio.sleep(0.3)
    assert [(x["type"], x["data"]["message_id"]) for x in events_at(receiver, "/off")[3:]] == [
        ("message.sent", g)
    ]


async def test_campaign_filter(
    live_factory: Any, database_url: str, receiver: WebhookReceiver
) -> None:
    live = await live_factory(database_url, **FAST)
    r = await live.client.post(
        "/api/v1/campaigns",
        json={"name": "spring", "text": "hi", "targets": {"numbers": [number(1), number(2)]}},
        headers=live.headers,
    )
    assert r.status_code == 201, r.text
    campaign = r.json()["id"]
    hook = await create(live, url=receiver.url + "/campaign", events=["*"], campaign_id=campaign)
    assert hook["campaign_id"] == campaign
    await create(live, url=receiver.url + "/completed", events=["campaign.completed"])
    other = await send(live, to=number(3), text="not the campaign's")
    r = await live.client.post(f"/api/v1/campaigns/{campaign}/start", headers=live.headers)
    assert r.status_code == 200, r.text
    await until(lambda: events_at(receiver, "/completed"), timeout=20)

    def of_campaign(prefix: str) -> list[dict[str, Any]]:
        return [e for e in events_at(receiver, "/campaign") if e["type"].startswith(prefix)]

    # Only one recipient's events are ordered: campaign.completed may come before the last
    # message.delivered (another order key), so wait for both.
    await until(lambda: of_campaign("campaign.completed") and len(of_campaign("message.")) == 6)
    await asyncio.sleep(0.3)
    got = events_at(receiver, "/campaign")
    messages = [e for e in got if e["type"].startswith("message.")]
    assert sorted(e["type"] for e in messages) == sorted(MESSAGE_EVENTS * 2)
    assert {e["data"]["to"] for e in messages} == {number(1), number(2)}
    assert all(e["data"]["campaign_id"] == campaign for e in messages)
    assert all(e["data"].get("message_id") != other for e in got)
    completed = events_at(receiver, "/completed")
    assert [e["data"]["campaign_id"] for e in completed] == [campaign]
    assert completed[0]["data"]["state"] == "completed"
    campaign_events = of_campaign("campaign.")
    assert campaign_events[-1]["type"] == "campaign.completed"  # after its progress events
    assert [e["type"] for e in campaign_events].count("campaign.completed") == 1
    assert all(e["data"]["campaign_id"] == campaign for e in campaign_events)


# -- per-message callback URLs ---------------------------------------------------------------


async def test_callback_url_gets_the_messages_events_signed(
    live_factory: Any, database_url: str, receiver: WebhookReceiver
) -> None:
    live = await live_factory(database_url, **FAST)
    r = await live.client.get("/api/v1/webhooks/callback-secret", headers=live.headers)
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    assert secret.startswith("whsec_")
    r = await live.client.get("/api/v1/webhooks/callback-secret", headers=live.headers)
    assert r.json()["secret"] == secret  # the same until rotated
    sub = await create(live, url=receiver.url + "/sub", events=["message.delivered"])
    one = await send(
        live, to=[number(1), number(2)], text="x", callback_url=receiver.url + "/cb?m=1"
    )
    plain = await send(live, to=number(3), text="no callback")
    await until(lambda: len(events_at(receiver, "/cb?m=1")) == 6)
    await until(lambda: len(events_at(receiver, "/sub")) == 3)
    await asyncio.sleep(0.3)
    callbacks = [x for x in receiver.accepted() if x.path == "/hooks/cb?m=1"]
    assert len(callbacks) == 6
    assert all(signed_with(secret, x) for x in callbacks)
    assert not any(signed_with(sub["secret"], x) for x in callbacks)
    events = [event_of(x) for x in callbacks]
    assert {e["data"]["message_id"] for e in events} == {one}
    for to in (number(1), number(2)):
        assert [e["type"] for e in events if e["data"]["to"] == to] == MESSAGE_EVENTS
    # the subscription gets its events as well, signed with its own secret
    subs = [x for x in receiver.accepted() if x.path == "/hooks/sub"]
    assert {event_of(x)["data"]["message_id"] for x in subs} == {one, plain}
    assert all(signed_with(sub["secret"], x) for x in subs)
    assert len(receiver.received) == 9

    r = await live.client.post("/api/v1/webhooks/callback-secret/rotate", headers=live.headers)
    assert r.status_code == 200, r.text
    rotated = r.json()["secret"]
    assert rotated.startswith("whsec_") and rotated != secret
    r = await live.client.get("/api/v1/webhooks/callback-secret", headers=live.headers)
    assert r.json()["secret"] == rotated


async def test_callback_secret_rotation_applies_to_later_callbacks(
    live_factory: Any, database_url: str, receiver: WebhookReceiver
) -> None:
    live = await live_factory(database_url, **FAST)
    r = await live.client.get("/api/v1/webhooks/callback-secret", headers=live.headers)
    before = r.json()["secret"]
    await send(live, to=number(1), text="x", callback_url=receiver.url + "/cb?m=1")
    await until(lambda: len(events_at(receiver, "/cb?m=1")) == 3)
    r = await live.client.post("/api/v1/webhooks/callback-secret/rotate", headers=live.headers)
    after = r.json()["secret"]
    await send(live, to=number(2), text="x", callback_url=receiver.url + "/cb?m=2")
    await until(lambda: len(events_at(receiver, "/cb?m=2")) == 3)
    first = [x for x in receiver.accepted() if x.path == "/hooks/cb?m=1"]
    second = [x for x in receiver.accepted() if x.path == "/hooks/cb?m=2"]
    assert all(signed_with(before, x) for x in first)
    # BUG (src/smsbridge/dispatch/webhook_sender.py, WebhookSender._load_targets): the
    # account's callback secret is cached in _callback_secrets for the life of the process,
    # so after POST /api/v1/webhooks/callback-secret/rotate callbacks are still signed with
    # the old secret (which the API no longer shows) until the gateway restarts.
    assert [signed_with(after, x) for x in second] == [True] * 3, (
        "callbacks after a rotation are signed with the old secret: "
        f"{[signed_with(before, x) for x in second]}"
    )


async def test_invalid_callback_url_is_refused_at_send_time(
    live_factory: Any, database_url: str
) -> None:
    live = await live_factory(database_url)
    for i, (callback_url, code) in enumerate((
        ("ftp://example.com/cb", "invalid_url"),
        ("https://user:secret@example.com/cb", "invalid_url"),
        ("not a url", "invalid_url"),
        ("https://", "invalid_url"),
        ("", "invalid_url"),
        ("http://127.0.0.1/cb", "private_address"),
        ("http://localhost:8080/cb", "private_address"),
        ("http://169.254.169.254/latest", "private_address"),
        ("http://10.0.0.7/cb", "private_address"),
    )):  # fmt: skip
        r = await live.client.post(
            "/api/v1/messages",
            json={"to": number(1), "text": "x", "callback_url": callback_url},
            headers=live.headers,
        )
        assert_error(r, 422, code)
        r = await live.client.post(
            "/api/v1/messages/batch",
            json={"messages": [{"to": number(1), "text": "x", "callback_url": callback_url},
                               {"to": number(10 + i), "text": "ok"}]},
            headers=live.headers,
        )  # fmt: skip
        assert r.status_code == 202, r.text
        assert [(e["index"], e["code"]) for e in r.json()["errors"]] == [(0, code)], callback_url
        assert len(r.json()["messages"]) == 1
    r = await live.client.get("/api/v1/messages", headers=live.headers)
    assert len(r.json()["messages"]) == 9  # only the good ones of the batches


# -- test deliveries -------------------------------------------------------------------------


async def test_test_endpoint_reports_and_logs_each_try(
    live_factory: Any, database_url: str, receiver: WebhookReceiver
) -> None:
    live = await live_factory(database_url, **FAST, webhooks_timeout_seconds=0.5)
    hook = await create(
        live, url=receiver.url, events=["message.failed"], headers={"X-Team": "ops"}
    )
    path = f"/api/v1/webhooks/{hook['id']}/test"
    r = await live.client.post(path, headers=live.headers)
    assert r.status_code == 200, r.text
    ok = r.json()
    assert ok["delivered"] is True and ok["status_code"] == 200 and ok["error"] is None
    assert isinstance(ok["latency_ms"], int) and ok["latency_ms"] >= 0
    assert ok["event_id"].startswith("evt_test")
    [request] = receiver.received
    body = event_of(request)
    assert body["type"] == "webhook.test" and body["id"] == ok["event_id"]
    assert body["data"]["webhook_id"] == hook["id"]
    assert request.headers["x-smsbridge-event"] == "webhook.test"
    assert request.headers["x-smsbridge-event-id"] == ok["event_id"]
    assert request.headers["x-smsbridge-delivery"] == ok["delivery_id"]
    assert request.headers["x-smsbridge-attempt"] == "1"
    assert request.headers["x-team"] == "ops"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("smsbridge-webhooks/")
    assert abs(int(request.headers["x-smsbridge-timestamp"]) - request.at) < 60
    assert signed_with(hook["secret"], request)

    receiver.fail_next(1, 503)
    r = await live.client.post(path, headers=live.headers)
    refused = r.json()
    assert refused["delivered"] is False and refused["status_code"] == 503
    assert refused["error"].startswith("HTTP 503")

    receiver.delay = 1.0
    r = await live.client.post(path, headers=live.headers)
    slow = r.json()
    assert slow["delivered"] is False and slow["status_code"] is None
    assert "no response within" in slow["error"]
    receiver.delay = 0.0

    await receiver.stop()
    r = await live.client.post(path, headers=live.headers)
    assert r.status_code == 200, r.text
    down = r.json()
    assert down["delivered"] is False and down["status_code"] is None and down["error"]
    await receiver.start()

    # a rotated secret signs the next test
    r = await live.client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=live.headers)
    secret = r.json()["secret"]
    r = await live.client.post(path, headers=live.headers)
    again = r.json()
    assert again["delivered"] is True
    assert signed_with(secret, receiver.received[-1])
    assert not signed_with(hook["secret"], receiver.received[-1])

    log = await deliveries_of(live, hook["id"])
    assert [d["id"] for d in log] == [
        x["delivery_id"] for x in (again, down, slow, refused, ok)
    ]  # newest first
    assert [d["state"] for d in log] == ["done", "dead", "dead", "dead", "done"]
    assert [d["status_code"] for d in log] == [200, None, None, 503, 200]
    assert all(d["event_type"] == "webhook.test" and d["attempts"] == 1 for d in log)
    assert [d["error"] for d in log] == [None, down["error"], slow["error"], refused["error"], None]
    assert all(d["finished_at"] and d["last_attempt_at"] for d in log)
    assert [len(d["failed_attempts"]) for d in log] == [0, 1, 1, 1, 0]
    assert (await get_webhook(live, hook["id"]))["deliveries"] == {"done": 2, "dead": 3}


# -- the delivery log ------------------------------------------------------------------------


async def test_delivery_log_shows_failed_attempts_and_pages(
    live_factory: Any, database_url: str, receiver: WebhookReceiver
) -> None:
    live = await live_factory(database_url, **FAST)
    hook = await create(live, url=receiver.url, events=["message.delivered"])
    receiver.fail_next(2)
    message = await send(live, to=number(1), text="x")

    async def done() -> bool:
        return (await get_webhook(live, hook["id"]))["deliveries"] == {"done": 1}

    await wait_for(done)
    [delivery] = await deliveries_of(live, hook["id"])
    assert delivery["state"] == "done" and delivery["attempts"] == 3
    assert delivery["status_code"] == 200 and delivery["error"] is None
    assert isinstance(delivery["latency_ms"], int) and delivery["latency_ms"] >= 0
    assert delivery["event_type"] == "message.delivered"
    assert delivery["finished_at"] and delivery["last_attempt_at"] and delivery["created_at"]
    assert delivery["next_attempt_at"] is None and delivery["give_up_at"]
    failed = delivery["failed_attempts"]
    assert [a["attempt"] for a in failed] == [1, 2]
    assert [a["status_code"] for a in failed] == [500, 500]
    assert all(a["error"] == "HTTP 500: try again later" for a in failed)
    assert all(isinstance(a["latency_ms"], int) and a["at"] for a in failed)
    assert failed[0]["at"] <= failed[1]["at"] <= delivery["last_attempt_at"]
    # what the receiver saw: the same event and delivery three times, attempts counted
    assert [x.status for x in receiver.received] == [500, 500, 200]
    assert [x.headers["x-smsbridge-attempt"] for x in receiver.received] == ["1", "2", "3"]
    assert {x.headers["x-smsbridge-delivery"] for x in receiver.received} == {delivery["id"]}
    assert {event_of(x)["id"] for x in receiver.received} == {delivery["event_id"]}
    assert event_of(receiver.received[0])["data"]["message_id"] == message

    assert await deliveries_of(live, hook["id"], state="done") == [delivery]
    assert await deliveries_of(live, hook["id"], state="dead") == []
    assert await deliveries_of(live, hook["id"], state="ready") == []
    assert await deliveries_of(live, hook["id"], state="waiting") == []

    for _ in range(6):
        r = await live.client.post(f"/api/v1/webhooks/{hook['id']}/test", headers=live.headers)
        assert r.json()["delivered"] is True
    everything = await deliveries_of(live, hook["id"], limit=500)
    assert len(everything) == 7
    ids = [int(d["id"]) for d in everything]
    assert ids == sorted(ids, reverse=True)
    for limit in (1, 2, 3, 7):
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(10):
            params: dict[str, Any] = {"limit": limit}
            if cursor is not None:
                params["cursor"] = cursor
            r = await live.client.get(
                f"/api/v1/webhooks/{hook['id']}/deliveries", params=params, headers=live.headers
            )
            assert r.status_code == 200, r.text
            page = r.json()["deliveries"]
            assert len(page) <= limit
            seen.extend(d["id"] for d in page)
            cursor = r.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == [d["id"] for d in everything], limit
    # the state filter pages too
    r = await live.client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries",
        params={"state": "done", "limit": 4},
        headers=live.headers,
    )
    assert len(r.json()["deliveries"]) == 4
    r = await live.client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries",
        params={"state": "done", "limit": 4, "cursor": r.json()["next_cursor"]},
        headers=live.headers,
    )
    assert [d["id"] for d in r.json()["deliveries"]] == [d["id"] for d in everything[4:]]
    assert r.json()["next_cursor"] is None


# -- dead letters and redelivery -------------------------------------------------------------


async def test_dead_letters_and_redelivery(
    live_factory: Any, database_url: str, receiver: WebhookReceiver
) -> None:
    live = await live_factory(database_url, **FAST, webhooks_give_up_hours=0.0001)  # 0.36 s
    hook = await create(live, url=receiver.url, events=["message.delivered"])
    await receiver.stop()
    messages = [await send(live, to=number(i), text="x") for i in range(3)]

    async def all_dead() -> bool:
        return (await get_webhook(live, hook["id"]))["deliveries"] == {"dead": 3}

    await wait_for(all_dead)
    dead = await deliveries_of(live, hook["id"], state="dead")
    assert len(dead) == 3
    for d in dead:
        assert d["attempts"] >= 1 and d["status_code"] is None and d["error"]
        assert d["finished_at"] and d["next_attempt_at"] is None
        # every attempt failed, the last one included
        assert [a["attempt"] for a in d["failed_attempts"]] == list(range(1, d["attempts"] + 1))
        assert d["failed_attempts"][-1]["error"] == d["error"]

    await receiver.start()  # back on the same port
    base = f"/api/v1/webhooks/{hook['id']}"
    r = await live.client.post(f"{base}/redeliver", headers=live.headers)
    assert r.status_code == 202 and r.json() == {"redelivered": 3}, r.text
    await until(lambda: len(receiver.accepted()) == 3)
    arrived = [event_of(x) for x in receiver.accepted()]
    assert sorted(e["data"]["message_id"] for e in arrived) == sorted(messages)
    assert {e["id"] for e in arrived} == {d["event_id"] for d in dead}

    async def all_done() -> bool:
        return (await get_webhook(live, hook["id"]))["deliveries"] == {"done": 3}

    await wait_for(all_done)
    r = await live.client.post(f"{base}/redeliver", headers=live.headers)
    assert r.status_code == 202 and r.json() == {"redelivered": 0}  # no dead letters left

    # one delivery (done) again
    first = dead[0]
    r = await live.client.post(f"{base}/deliveries/{first['id']}/redeliver", headers=live.headers)
    assert r.status_code == 202 and r.json() == {"redelivered": 1}, r.text
    await until(lambda: len(receiver.accepted()) == 4)
    assert event_of(receiver.accepted()[-1])["id"] == first["event_id"]
    await wait_for(all_done)

    # one still pending cannot be queued again
    receiver.delay = 1.0
    second = dead[1]
    r = await live.client.post(f"{base}/deliveries/{second['id']}/redeliver", headers=live.headers)
    assert r.status_code == 202 and r.json() == {"redelivered": 1}
    r = await live.client.post(f"{base}/deliveries/{second['id']}/redeliver", headers=live.headers)
    assert_error(r, 422, "delivery_pending")
    await until(lambda: len(receiver.accepted()) == 5)
    receiver.delay = 0.0
    await wait_for(all_done)

    # unknown deliveries, and another webhook's
    r = await live.client.post(f"{base}/deliveries/999999/redeliver", headers=live.headers)
    assert_error(r, 404, "delivery_not_found")
    other = await create(live, url=receiver.url + "/other", events=["message.failed"])
    r = await live.client.post(f"/api/v1/webhooks/{other['id']}/test", headers=live.headers)
    foreign = r.json()["delivery_id"]
    r = await live.client.post(f"{base}/deliveries/{foreign}/redeliver", headers=live.headers)
    assert_error(r, 404, "delivery_not_found")
    r = await live.client.post(
        f"/api/v1/webhooks/{other['id']}/deliveries/{first['id']}/redeliver", headers=live.headers
    )
    assert_error(r, 404, "delivery_not_found")
