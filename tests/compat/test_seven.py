"""The seven.io API (``/seven/api``) on SQLite and PostgreSQL: every request recorded from
seven's SDKs replayed against a live server, the return codes, sending end to end through the
simulator, tracked links, files, and hooks in seven's format with seven's signature."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest

from smsbridge.services import signing
from smsbridge.testing.webhook_receiver import WebhookReceiver
from tests.conftest import Live, wait_for

CAPTURES = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "captures"
SEVEN = "/seven/api"
FAST = {"webhooks_allow_private": True, "events_poll_interval_ms": 20}
ANNA = "+491701234567"
BEN = "+491709999999"


@pytest.fixture
async def seven(live_factory: Any, database_url: str) -> Live:
    live: Live = await live_factory(database_url, **FAST)
    return live


def captured(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (CAPTURES / name).read_text().splitlines() if line]


async def replay(live: Live, record: dict[str, Any], swap: dict[str, str]) -> httpx.Response:
    """Send one recorded SDK request to the live server, as recorded, with a real key."""
    query = {k: [_swap(v, swap) for v in values] for k, values in record["query"].items()}
    if "p" in query:
        query["p"] = [live.key]
    headers = {
        k: v
        for k, v in record["headers"].items()
        if k.lower() not in ("host", "content-length", "x-signature", "x-nonce", "x-timestamp")
    }
    if "X-Api-Key" in headers:
        headers["X-Api-Key"] = live.key
    body = _swap(record["body_raw"] or "", swap)
    path = SEVEN + record["path"].removeprefix("/api")
    return await live.client.request(
        record["method"], path, params=urlencode(query, doseq=True), headers=headers,
        content=body.encode(),
    )  # fmt: skip


def _swap(text: str, swap: dict[str, str]) -> str:
    for old, new in swap.items():
        text = text.replace(old, new)
    return text


async def send_one(live: Live, text: str, to: str = ANNA, **extra: Any) -> str:
    """Send with the JSON shape; the new SMS's id."""
    r = await live.client.post(
        f"{SEVEN}/sms", json={"to": to, "text": text, **extra}, headers={"X-Api-Key": live.key}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] == "100", body
    return str(body["messages"][0]["id"])


# -- recorded SDK requests ---------------------------------------------------------------------


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


async def test_sms77api_captures_replayed(seven: Live) -> None:
    """PyPI sms77api: params in the query string, empty POST bodies, `p=KEY`; text replies
    unless json=1; balance() does float(body)."""
    sent = await send_one(seven, "to look up")
    replies = []
    for record in captured("pypi_sms77api-2.0.0.jsonl"):
        r = await replay(seven, record, {"77000000000": sent})
        assert r.status_code == 200, (record["path"], r.text)
        replies.append((record, r))
    (_, plain), (_, js), (_, bal), (_, status), (_, contact), (_, look) = replies
    assert plain.text == "100"
    body = js.json()
    assert body["success"] == "100"
    assert [m["recipient"] for m in body["messages"]] == ["491701234567", "491709999999"]
    assert {m["encoding"] for m in body["messages"]} == {"ucs2"}
    assert all(m["label"] == "L1" for m in body["messages"])
    assert _is_number(bal.text)
    report, timestamp = status.text.split("\n")
    assert report in ("ACCEPTED", "TRANSMITTED", "DELIVERED")
    assert len(timestamp) == len("2024-01-01 12:00:00.000")
    assert contact.json()["return"] == "152" and isinstance(contact.json()["id"], int)
    assert look.json()["international"] == "491701234567"
    assert look.json()["country_iso"] == "DE"


async def test_sms77_client_captures_replayed(seven: Live) -> None:
    """npm sms77-client 2.x: urlencoded bodies, X-Api-Key, `_json` leaked to /status (which
    must stay text: the client splits it on newlines), contacts write as GET."""
    sent = await send_one(seven, "status for the js client")
    replies = [
        (record, await replay(seven, record, {"77000000000": sent}))
        for record in captured("npm_sms77-client-2.27.0.jsonl")
    ]
    (_, plain), (_, js), (_, bal), (_, status), (_, contact), (_, look) = replies
    assert plain.text == "100"
    body = js.json()
    assert body["success"] == "100" and body["messages"][0]["encoding"] == "ucs2"
    # The file went along as a download link (no [[a.txt]] placeholder: appended).
    assert "/f/" in body["messages"][0]["text"]
    assert _is_number(bal.text)
    assert len(status.text.split("\n")) == 2
    assert contact.json()["return"] == "152"
    assert look.json()["success"] is True


async def test_seven_client_captures_replayed(seven: Live) -> None:
    """npm @seven.io/client 5.x: JSON bodies and Accept: application/json everywhere, delay in
    epoch milliseconds, DELETE /sms with {"ids": "a,b"}."""
    sent = await send_one(seven, "status for the new client")
    later = await send_one(seven, "scheduled to delete", delay="2030-06-01 12:00")
    swap = {"77000000000": later, "77000000001": sent}
    replies = {}
    for record in captured("npm_seven.io-client-5.6.0.jsonl"):
        r = await replay(seven, record, swap)
        assert r.status_code == 200, (record["path"], r.text)
        assert r.headers["content-type"].startswith("application/json"), record["path"]
        replies[(record["method"], record["path"])] = r.json()
    sms = replies[("POST", "/api/sms")]
    assert sms["success"] == "100" and len(sms["messages"]) == 2
    for message in sms["messages"]:  # the fields the PHP and JS clients read
        assert set(message) >= {
            "encoding",
            "error",
            "error_text",
            "id",
            "is_binary",
            "parts",
            "price",
            "recipient",
            "sender",
            "success",
            "text",
            "udh",
        }
    assert isinstance(replies[("GET", "/api/balance")]["amount"], float)
    statuses = replies[("GET", "/api/status")]
    assert [s["id"] for s in statuses] == [later, sent]
    assert {"id", "status", "status_time"} <= set(statuses[0])
    assert replies[("POST", "/api/groups")]["name"] == "VIP"
    assert replies[("POST", "/api/hooks")]["success"] is True
    deleted = replies[("DELETE", "/api/sms")]
    assert deleted == {"success": True, "deleted": [later]}


async def test_php_client_captures_replayed(seven: Live) -> None:
    """seven-io/php-client: urlencoded bodies, delay in PHP's 12-hour `Y-m-d h:i`."""
    sent = await send_one(seven, "status for php")
    replies = [
        await replay(seven, record, {"77000000000": sent, "77000000001": sent})
        for record in captured("php_seven-io-php-client.jsonl")
    ]
    sms, bal, status, group = (r.json() for r in replies)
    assert set(sms) >= {"balance", "debug", "messages", "sms_type", "success", "total_price"}
    assert sms["debug"] == "false" and sms["sms_type"] == "direct"
    assert set(bal) == {"amount", "currency"}
    assert all(set(s) >= {"id", "status", "status_time"} for s in status)
    assert set(group) >= {"created", "id", "members_count", "name"}


# -- return codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"text": "hi"}, "301"),
        ({"to": ANNA}, "305"),
        ({"to": ANNA, "text": "x" * 1521}, "401"),
        ({"to": ANNA, "text": "hi", "from": "much-too-long-sender"}, "201"),
        ({"to": "+4917", "text": "hi"}, "202"),
        ({"to": ANNA, "text": "hi", "delay": "tomorrow"}, "700"),
        ({"to": ANNA, "text": "hi", "label": "no spaces allowed"}, "700"),
        ({"to": ANNA, "text": "not hex", "udh": "050003CC0201"}, "305"),
        ({"to": ANNA, "text": "00ff", "udh": "0500"}, "700"),
        ({"to": ANNA, "text": "00" * 135, "udh": "050003CC0201"}, "401"),
    ],
)
async def test_sms_refusals_answer_seven_codes(
    seven: Live, params: dict[str, str], code: str
) -> None:
    text = await seven.client.post(f"{SEVEN}/sms", data={**params, "p": seven.key})
    assert (text.status_code, text.text) == (200, code)
    as_json = await seven.client.post(f"{SEVEN}/sms", json=params, headers={"X-Api-Key": seven.key})
    assert (as_json.status_code, as_json.json()) == (200, code)


async def test_binary_sms_with_udh_delivered(seven: Live) -> None:
    """`udh` plus hex `text`: an 8-bit SMS handed to the channel with that header as given."""
    data = "0B0504158100000003" + "ab" * 60
    r = await seven.client.post(
        f"{SEVEN}/sms",
        json={"to": ANNA, "text": data, "udh": "050003CC0201"},
        headers={"X-Api-Key": seven.key},
    )
    message = r.json()["messages"][0]
    assert (message["is_binary"], message["udh"], message["encoding"]) == (
        True, "050003CC0201", "binary",
    )  # fmt: skip
    assert message["parts"] == 1

    async def delivered() -> bool:
        r = await seven.client.get(
            f"{SEVEN}/status", params={"msg_id": message["id"], "p": seven.key}
        )
        return r.text.startswith("DELIVERED\n")

    await wait_for(delivered)
    dispatcher = seven.gateway.dispatcher
    assert dispatcher is not None
    sms = dispatcher.router.connectors["simulator"].sent[-1]  # type: ignore[attr-defined]
    assert sms.encoding == "binary" and sms.udh == bytes.fromhex("050003CC0201")
    assert sms.parts == (data,)


async def test_auth_codes(seven: Live) -> None:
    for headers in ({}, {"X-Api-Key": "sb_wrong"}, {"Authorization": "Bearer nope"}):
        r = await seven.client.get(f"{SEVEN}/balance", headers=headers)
        assert (r.status_code, r.text) == (200, "900")
    r = await seven.client.get(f"{SEVEN}/balance", headers={"Authorization": f"basic {seven.key}"})
    assert _is_number(r.text)
    r = await seven.client.get(
        f"{SEVEN}/balance",
        headers={"Authorization": f"Bearer {seven.key}", "Accept": "application/json"},
    )
    assert set(r.json()) == {"amount", "currency"}
    read_only = (await seven.gateway.keys.create(name="ro", scopes="messages:read")).key
    r = await seven.client.post(f"{SEVEN}/sms", data={"to": ANNA, "text": "x", "p": read_only})
    assert r.text == "902"


async def test_partial_failure_reload_lock_and_credit(seven: Live) -> None:
    r = await seven.client.post(
        f"{SEVEN}/sms", data={"to": f"{ANNA},+4917", "text": "one bad", "p": seven.key, "json": "1"}
    )
    body = r.json()
    assert body["success"] == "101"
    bad = [m for m in body["messages"] if not m["success"]]
    assert bad[0]["error"] == "202" and bad[0]["error_text"]
    again = await seven.client.post(
        f"{SEVEN}/sms", data={"to": ANNA, "text": "one bad", "p": seven.key}
    )
    assert again.text == "402"  # the same text to the same number within 180 s
    forced = await seven.client.post(
        f"{SEVEN}/sms", data={"to": ANNA, "text": "one bad", "no_reload": "1", "p": seven.key}
    )
    assert forced.text == "100"
    account = await seven.gateway.accounts.get("default")
    await seven.gateway.billing.configure(account.id, prepaid=True, actor="test")
    broke = await seven.client.post(
        f"{SEVEN}/sms", data={"to": BEN, "text": "no credit", "p": seven.key}
    )
    assert broke.text == "500"


async def test_text_replies_details_and_return_msg_id(seven: Live) -> None:
    r = await seven.client.get(
        f"{SEVEN}/sms",
        params={"p": seven.key, "to": ANNA, "text": "details", "return_msg_id": "1"},
    )
    code, msg_id = r.text.split("\n")
    assert code == "100" and msg_id.isdigit()
    r = await seven.client.get(
        f"{SEVEN}/sms",
        params={"p": seven.key, "to": ANNA, "text": "debug it", "details": "1", "debug": "1"},
    )
    lines = r.text.split("\n")
    assert lines[0] == "100" and "Debug: true" in lines and "SMS-Typ: direct" in lines


async def test_delay_forms(seven: Live) -> None:
    for i, delay in enumerate(
        ["1893499200", "1893499200000", "2030-01-01 00:00", "2030-01-01 00:00:00"]
    ):
        sent = await send_one(seven, f"later {i}", delay=delay)
        row = (await seven.gateway.messages.recipients(_caller(seven), [int(sent)]))[int(sent)]
        assert row["status"] == "scheduled", delay


def _caller(live: Live) -> Any:
    from smsbridge.services.caller import Caller

    return Caller(1, None)


# -- end to end --------------------------------------------------------------------------------


def _verify_seven(secret: str, method: str, url: str, headers: dict[str, str], body: bytes) -> bool:
    expected = signing.sign(secret, headers["x-timestamp"], headers["x-nonce"], method, url, body)
    return hmac.compare_digest(expected, headers["x-signature"])


async def test_send_delivered_status_and_dlr_hook(seven: Live) -> None:
    receiver = await WebhookReceiver().start()
    try:
        r = await seven.client.post(
            f"{SEVEN}/hooks",
            json={"target_url": receiver.url, "event_type": "dlr", "request_method": "JSON"},
            headers={"X-Api-Key": seven.key},
        )
        assert r.json()["success"] is True
        hooks = (await seven.client.get(f"{SEVEN}/hooks", headers={"X-Api-Key": seven.key})).json()
        assert hooks["hooks"][0]["event_type"] == "dlr"
        assert hooks["hooks"][0]["request_method"] == "JSON"
        sent = await send_one(seven, "track me to delivery", foreign_id="order-7")

        async def delivered() -> bool:
            r = await seven.client.get(f"{SEVEN}/status", params={"msg_id": sent, "p": seven.key})
            return r.text.startswith("DELIVERED\n")

        await wait_for(delivered)

        async def reports() -> list[dict[str, Any]]:
            return [json.loads(x.body) for x in receiver.received]

        await wait_for(lambda: _has_status(receiver, "DELIVERED"))
        payloads = await reports()
        assert all(p["webhook_event"] == "dlr" for p in payloads)
        assert {p["data"]["status"] for p in payloads} >= {"TRANSMITTED", "DELIVERED"}
        assert all(p["data"]["msg_id"] == sent for p in payloads)
        first = receiver.received[0]
        assert first.headers["content-type"] == "application/json"
        # Signed as seven signs (with the hook's secret; here the key has no signing secret,
        # so the smsbridge signature headers are there too).
        assert "x-signature" in first.headers and "x-smsbridge-signature" in first.headers
        journal = await seven.client.get(
            f"{SEVEN}/journal/outbound", params={"id": sent}, headers={"X-Api-Key": seven.key}
        )
        assert journal.json()[0]["dlr"] == "DELIVERED"
        assert journal.json()[0]["foreign_id"] == "order-7"
        r = await seven.client.request(
            "DELETE", f"{SEVEN}/hooks", data={"id": hooks["hooks"][0]["id"]},
            headers={"X-Api-Key": seven.key},
        )  # fmt: skip
        assert r.json() == {"success": True}
    finally:
        await receiver.stop()


async def _has_status(receiver: WebhookReceiver, status: str) -> bool:
    return any(json.loads(x.body)["data"].get("status") == status for x in receiver.received)


async def test_inbound_and_form_hook(seven: Live) -> None:
    receiver = await WebhookReceiver().start()
    try:
        r = await seven.client.post(
            f"{SEVEN}/hooks",
            data={"target_url": receiver.url, "event_type": "sms_mo", "p": seven.key},
        )
        assert r.json()["success"] is True
        await seven.client.post(
            "/api/v1/simulator/inbound", json={"from": ANNA, "text": "Hello World"},
            headers=seven.headers,
        )  # fmt: skip
        await wait_for(lambda: _arrived(receiver))
        got = receiver.received[0]
        assert got.headers["content-type"] == "application/x-www-form-urlencoded"
        form = parse_qs(got.body.decode())
        assert form["webhook_event"] == ["sms_mo"]
        assert form["data[sender]"] == ["491701234567"]
        assert form["data[text]"] == ["Hello World"]
        inbound = await seven.client.get(
            f"{SEVEN}/journal/inbound", headers={"X-Api-Key": seven.key}
        )
        assert inbound.json()[0]["text"] == "Hello World"
    finally:
        await receiver.stop()


async def _arrived(receiver: WebhookReceiver) -> bool:
    return bool(receiver.received)


async def test_tracked_links_count_clicks_and_send_tracking_hooks(seven: Live) -> None:
    receiver = await WebhookReceiver().start()
    try:
        await seven.client.post(
            f"{SEVEN}/hooks",
            json={"target_url": receiver.url, "event_type": "tracking", "request_method": "JSON"},
            headers={"X-Api-Key": seven.key},
        )
        r = await seven.client.post(
            f"{SEVEN}/sms",
            json={"to": ANNA, "text": "Sale: https://shop.example.com/sale?x=1 now",
                  "performance_tracking": True, "label": "sale"},
            headers={"X-Api-Key": seven.key},
        )  # fmt: skip
        message = r.json()["messages"][0]
        short = message["text"].split()[1]
        assert short.startswith(seven.base_url + "/l/")
        for _ in range(2):
            click = await seven.client.get(short.removeprefix(seven.base_url))
            assert click.status_code == 302
            assert click.headers["location"] == "https://shop.example.com/sale?x=1"
        await wait_for(lambda: _clicks(receiver, 2))
        data = json.loads(receiver.received[-1].body)["data"]
        assert data["type"] == "click" and data["sms_label"] == "sale"
        assert data["sms_id"] == message["id"] and data["final_url"].endswith("x=1")
        assert (await seven.client.get("/l/unknown")).status_code == 404
    finally:
        await receiver.stop()


async def _clicks(receiver: WebhookReceiver, n: int) -> bool:
    return any(json.loads(x.body)["data"].get("total_clicks") == n for x in receiver.received)


async def test_files_become_download_links(seven: Live) -> None:
    r = await seven.client.post(
        f"{SEVEN}/sms",
        data={"to": ANNA, "text": "Your invoice: [[invoice.pdf]]", "json": "1", "p": seven.key,
              "files[0][name]": "invoice.pdf", "files[0][contents]": "JVBERi0xLjQ=",
              "files[0][validity]": "3", "files[0][password]": "s3cret"},
    )  # fmt: skip
    text = r.json()["messages"][0]["text"]
    link = text.removeprefix("Your invoice: ").removeprefix(seven.base_url)
    assert link.startswith("/f/")
    assert (await seven.client.get(link)).status_code == 401
    assert (await seven.client.get(link, params={"password": "wrong"})).status_code == 401
    got = await seven.client.get(link, params={"password": "s3cret"})
    assert got.status_code == 200 and got.content == b"%PDF-1.4"
    bad = await seven.client.post(
        f"{SEVEN}/sms",
        data={"to": ANNA, "text": "x [[a]]", "p": seven.key, "files[0][name]": "a",
              "files[0][contents]": "not base64!"},
    )  # fmt: skip
    assert bad.text == "700"


async def test_contacts_groups_and_legacy_contacts(seven: Live) -> None:
    h = {"X-Api-Key": seven.key, "Accept": "application/json"}
    group = (await seven.client.post(f"{SEVEN}/groups", json={"name": "Team"}, headers=h)).json()
    created = await seven.client.post(
        f"{SEVEN}/contacts",
        content=urlencode([("firstname", "Peter"), ("lastname", "Meyer"),
                           ("mobile_number", ANNA), ("groups", str(group["id"]))]),
        headers={**h, "Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    contact = created.json()
    assert contact["properties"]["fullname"] == "Peter Meyer"
    assert contact["groups"] == [group["id"]]
    listed = (await seven.client.get(f"{SEVEN}/contacts", headers=h)).json()
    assert listed["pagingMetadata"]["total"] == 1
    one = await seven.client.patch(
        f"{SEVEN}/contacts/{contact['id']}", data={"email": "p@example.com"}, headers=h
    )
    assert one.json()["properties"]["email"] == "p@example.com"
    # Sending to the group's name and to the contact's name (seven's `to`).
    r = await seven.client.post(
        f"{SEVEN}/sms", json={"to": "Team", "text": "to the team"}, headers=h
    )
    assert r.json()["messages"][0]["recipient"] == ANNA.lstrip("+")
    groups = (await seven.client.get(f"{SEVEN}/groups", headers=h)).json()
    assert groups["data"][0]["members_count"] == 1
    legacy = await seven.client.post(f"{SEVEN}/contacts", params={"action": "read", "p": seven.key})
    assert legacy.text.strip() == f"{contact['id']};Peter Meyer;{ANNA}"
    gone = await seven.client.delete(
        f"{SEVEN}/groups/{group['id']}", params={"delete_contacts": "true"}, headers=h
    )
    assert gone.json() == {"success": True}
    assert (await seven.client.get(f"{SEVEN}/contacts/{contact['id']}", headers=h)).json() == "901"


async def test_pricing_analytics_and_lookups(seven: Live) -> None:
    h = {"X-Api-Key": seven.key, "Accept": "application/json"}
    await send_one(seven, "counted", label="stats")
    pricing = (
        await seven.client.get(f"{SEVEN}/pricing", params={"country": "de"}, headers=h)
    ).json()
    assert pricing["countries"][0]["countryPrefix"] == "49"
    csv_text = await seven.client.get(
        f"{SEVEN}/pricing", params={"format": "csv", "country": "at", "p": seven.key}
    )
    assert csv_text.text.startswith("countryCode;countryName")
    by_label = (await seven.client.get(f"{SEVEN}/analytics/label", headers=h)).json()
    assert any(row["label"] == "stats" and row["sms"] == 1 for row in by_label)
    by_country = (await seven.client.get(f"{SEVEN}/analytics/country", headers=h)).json()
    assert any(row["country"] == "DE" for row in by_country)
    both = (
        await seven.client.get(
            f"{SEVEN}/lookup/format", params={"number": f"{ANNA},43650123456"}, headers=h
        )
    ).json()
    assert [b["country_iso"] for b in both] == ["DE", "AT"]
    assert (
        await seven.client.get(f"{SEVEN}/lookup/hlr", params={"number": ANNA}, headers=h)
    ).json() == "400"


async def test_signed_requests(seven: Live) -> None:
    created = await seven.gateway.keys.create(name="signed", require_signature=True)
    assert created.signing_secret is not None
    url = f"{seven.base_url}{SEVEN}/balance"
    ts = str(int(__import__("time").time()))
    headers = {
        "X-Api-Key": created.key, "Accept": "application/json", "X-Timestamp": ts,
        "X-Nonce": "a" * 32,
        "X-Signature": signing.sign(created.signing_secret, ts, "a" * 32, "GET", url, b""),
    }  # fmt: skip
    assert set((await seven.client.get(url, headers=headers)).json()) == {"amount", "currency"}
    headers["X-Nonce"] = "b" * 32  # signature no longer matches
    assert (await seven.client.get(url, headers=headers)).json() == "901"


# -- the real SDKs -----------------------------------------------------------------------------


async def test_sms77api_python_client(seven: Live) -> None:
    from sms77api.Sms77api import Sms77api  # type: ignore[import-untyped]

    def run() -> dict[str, Any]:
        client = Sms77api(seven.key)
        client.baseUrl = seven.base_url + SEVEN
        out: dict[str, Any] = {}
        out["sms"] = client.sms(ANNA, "from the python client")
        out["json"] = client.sms(ANNA, "python json", {"json": True, "label": "py"})
        out["balance"] = client.balance()
        msg_id = out["json"]["messages"][0]["id"]
        out["status"] = client.status(msg_id)
        return out

    out = await asyncio.to_thread(run)
    assert out["sms"] == "100"
    assert out["json"]["success"] == "100"
    assert isinstance(out["balance"], float)
    assert out["status"].split("\n")[0] in ("ACCEPTED", "TRANSMITTED", "DELIVERED")


NODE_SCRIPT = r"""
const [base, key, secret, plainKey] = process.argv.slice(1);
const seven = require('@seven.io/client');
const Sms77Client = require('sms77-client');
(async () => {
  const out = {};
  seven.Client.BASE_URL = base;
  const client = new seven.Client({apiKey: key, signingSecret: secret, sentWith: 'tests'});
  const sms = new seven.SmsResource(client);
  out.dispatch = await sms.dispatch({to: ['+491701234567'], text: 'from @seven.io/client',
                                     from: 'Tester', label: 'js'});
  out.balance = await new seven.BalanceResource(client).get();
  out.status = await new seven.StatusResource(client).get([out.dispatch.messages[0].id]);
  out.group = await new seven.GroupsResource(client).create({name: 'JS'});
  out.lookup = await new seven.LookupResource(client).format({numbers: ['+491701234567']});
  try { await sms.dispatch({to: ['+491701234567'], text: ''}); out.empty = 'no error'; }
  catch (e) { out.empty = String(e.message); }
  Object.getPrototypeOf(Sms77Client).BASE_URL = base;
  Sms77Client.BASE_URL = base;
  const legacy = new Sms77Client(plainKey, 'tests');  // it cannot sign
  out.legacySms = await legacy.sms({to: '+491701234567', text: 'from sms77-client', json: true});
  out.legacyBalance = await legacy.balance();
  out.legacyStatus = await legacy.status({msg_id: out.legacySms.messages[0].id, _json: true});
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
"""


async def test_seven_javascript_clients_with_request_signing(seven: Live) -> None:
    sdk = Path(__file__).parent / "sdk"
    created = await seven.gateway.keys.create(name="js", require_signature=True)
    proc = await asyncio.create_subprocess_exec(
        "node", "-e", NODE_SCRIPT, seven.base_url + SEVEN, created.key,
        created.signing_secret or "", seven.key, cwd=sdk,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["dispatch"]["success"] == "100"
    assert result["balance"]["currency"] == "EUR"
    assert result["status"][0]["id"] == result["dispatch"]["messages"][0]["id"]
    assert result["group"]["name"] == "JS"
    lookup = result["lookup"][0] if isinstance(result["lookup"], list) else result["lookup"]
    assert lookup["success"] is True and lookup["country_iso"] == "DE"
    assert result["empty"].startswith("305")
    assert result["legacySms"]["success"] == "100"
    assert isinstance(result["legacyBalance"], int | float)  # JSON drops ".0"
    assert result["legacyStatus"]["report"] in ("ACCEPTED", "TRANSMITTED", "DELIVERED")


def _digest(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()
