"""The native messages API over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Live, wait_for

DE_MOBILE = "+4917612345678"


async def status_of(live: Live, message_id: str) -> dict[str, Any]:
    r = await live.client.get(f"/api/v1/messages/{message_id}", headers=live.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def until_status(live: Live, message_id: str, status: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        body = await status_of(live, message_id)
        return body if body["status"] == status else None

    result: dict[str, Any] = await wait_for(check)
    return result


async def test_send_reaches_delivered(live: Live) -> None:
    r = await live.client.post(
        "/api/v1/messages",
        json={
            "to": DE_MOBILE,
            "text": "Hello from smsbridge",
            "from": "MyShop",
            "label": "otp",
            "foreign_id": "order-1",
        },
        headers=live.headers,
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued"
    assert body["encoding"] == "gsm7"
    assert body["parts"] == 1
    assert body["test"] is False
    assert body["recipients"][0]["to"] == DE_MOBILE
    assert set(body) >= {
        "id",
        "status",
        "encoding",
        "parts",
        "test",
        "created_at",
        "send_at",
        "recipients",
    }
    final = await until_status(live, body["id"], "delivered")
    rcpt = final["recipients"][0]
    assert [h["status"] for h in rcpt["history"]] == ["queued", "sending", "sent", "delivered"]
    assert rcpt["parts"][0]["status"] == "delivered"
    assert final["label"] == "otp" and final["foreign_id"] == "order-1"
    assert final["from"] == "MyShop"


async def test_x_api_key_header_and_comma_separated_to(live: Live) -> None:
    r = await live.client.post(
        "/api/v1/messages",
        json={"to": "+4917612345678, 004917612345679,4917612345670", "text": "hi"},
        headers={"X-Api-Key": live.key},
    )
    assert r.status_code == 202, r.text
    assert [x["to"] for x in r.json()["recipients"]] == [
        "+4917612345678",
        "+4917612345679",
        "+4917612345670",
    ]


async def test_duplicate_numbers_are_sent_once(live: Live) -> None:
    r = await live.client.post(
        "/api/v1/messages",
        json={"to": ["+4917612345678", "004917612345678", "4917612345678"], "text": "hi"},
        headers=live.headers,
    )
    assert r.status_code == 202
    assert len(r.json()["recipients"]) == 1


async def test_multipart_unicode_message_has_parts(live: Live) -> None:
    text = "Привет " * 20  # 140 UCS-2 units -> 3 parts of 67
    r = await live.client.post(
        "/api/v1/messages", json={"to": DE_MOBILE, "text": text}, headers=live.headers
    )
    assert r.status_code == 202
    body = r.json()
    assert body["encoding"] == "ucs2" and body["parts"] == 3
    final = await until_status(live, body["id"], "delivered")
    assert len(final["segments"]) == 3
    assert "".join(s["text"] for s in final["segments"]) == text
    assert all(s["udh"].startswith("050003") for s in final["segments"])
    assert len(final["recipients"][0]["parts"]) == 3


async def test_bad_number_is_rejected_with_reason_others_proceed(live: Live) -> None:
    r = await live.client.post(
        "/api/v1/messages",
        json={"to": [DE_MOBILE, "+49171999999999"], "text": "hi"},
        headers=live.headers,
    )
    assert r.status_code == 202
    recipients = r.json()["recipients"]
    assert recipients[0]["status"] == "queued"
    assert recipients[1]["status"] == "rejected"
    assert recipients[1]["error"]["code"] == "invalid_number"
    assert "+49" in recipients[1]["error"]["message"]
    final = await until_status(live, r.json()["id"], "mixed")
    assert final["summary"] in (
        {"delivered": 1, "rejected": 1},
        {"queued": 1, "rejected": 1},
        {"sending": 1, "rejected": 1},
        {"sent": 1, "rejected": 1},
    )


async def test_national_number_uses_default_region(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, default_region="DE")
    r = await live.client.post(
        "/api/v1/messages", json={"to": "0176 12345678", "text": "hi"}, headers=live.headers
    )
    assert r.status_code == 202, r.text
    assert r.json()["recipients"][0]["to"] == DE_MOBILE


async def test_test_mode_is_never_dispatched(live: Live) -> None:
    r = await live.client.post(
        "/api/v1/messages", json={"to": DE_MOBILE, "text": "hi", "test": True}, headers=live.headers
    )
    assert r.status_code == 202
    body = r.json()
    assert body["test"] is True
    await asyncio.sleep(0.3)
    again = await status_of(live, body["id"])
    assert again["status"] == "queued" and again["test"] is True
    assert live.gateway.dispatcher is not None
    assert live.gateway.dispatcher.sent == 0


async def test_schedule_then_cancel(live: Live) -> None:
    send_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = await live.client.post(
        "/api/v1/messages",
        json={"to": DE_MOBILE, "text": "later", "send_at": send_at},
        headers=live.headers,
    )
    assert r.status_code == 202
    body = r.json()
    assert body["status"] == "scheduled" and body["send_at"] is not None
    r = await live.client.delete(f"/api/v1/messages/{body['id']}", headers=live.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    history = r.json()["recipients"][0]["history"]
    assert [h["status"] for h in history] == ["scheduled", "cancelled"]
    r = await live.client.delete(f"/api/v1/messages/{body['id']}", headers=live.headers)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "already_cancelled"


async def test_scheduled_message_goes_out_when_due(live: Live) -> None:
    send_at = datetime.now(UTC).timestamp() + 3  # well beyond the 1 s "now" slack
    r = await live.client.post(
        "/api/v1/messages",
        json={"to": DE_MOBILE, "text": "soon", "send_at": send_at},
        headers=live.headers,
    )
    assert r.json()["status"] == "scheduled"
    await asyncio.sleep(0.5)
    assert (await status_of(live, r.json()["id"]))["status"] == "scheduled"
    await until_status(live, r.json()["id"], "delivered")


async def test_cancel_after_delivery_is_409(live: Live) -> None:
    r = await live.client.post(
        "/api/v1/messages", json={"to": DE_MOBILE, "text": "x"}, headers=live.headers
    )
    await until_status(live, r.json()["id"], "delivered")
    r = await live.client.delete(f"/api/v1/messages/{r.json()['id']}", headers=live.headers)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "already_sent"


async def test_expired_ttl(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, dispatch=False)
    r = await live.client.post(
        "/api/v1/messages", json={"to": DE_MOBILE, "text": "x", "ttl": 1}, headers=live.headers
    )
    assert r.status_code == 202
    await asyncio.sleep(1.2)
    other = await live_factory(database_url)  # a dispatcher starts after the ttl ran out
    del other
    await until_status(live, r.json()["id"], "expired")


async def test_high_priority_goes_first(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, dispatch=False)
    normal = await live.client.post(
        "/api/v1/messages/batch",
        json={"messages": [{"to": f"+49176123456{i:02d}", "text": "bulk"} for i in range(50)]},
        headers=live.headers,
    )
    urgent = await live.client.post(
        "/api/v1/messages",
        json={"to": DE_MOBILE, "text": "urgent", "priority": "high"},
        headers=live.headers,
    )
    assert normal.status_code == 202 and urgent.status_code == 202
    worker = await live_factory(database_url, claim_batch=10, max_inflight=10)
    assert worker.gateway.dispatcher is not None
    await until_status(live, urgent.json()["id"], "delivered")
    connector = worker.gateway.dispatcher.router.connectors["simulator"]
    first = connector.sent[0]  # type: ignore[attr-defined]
    assert first.text == "urgent"


async def test_batch_with_per_item_errors(live: Live) -> None:
    items = [
        {"to": DE_MOBILE, "text": "one"},
        {"to": "+49171999999999", "text": "bad number"},
        {"text": "no recipient"},
        {"to": DE_MOBILE, "text": ""},
        {"to": DE_MOBILE, "text": "x" * 1600},
        {"to": DE_MOBILE, "text": "ok", "encoding": "gsm7", "from": "Ünïcödé!!!!!!"},
        {"to": DE_MOBILE, "text": "two", "bogus": 1},
        {"to": "+436501234567", "text": "three"},
        {"to": ["+4915112345678"], "text": "four", "priority": "high"},
        {"to": " 4915112345679 ", "text": "five", "label": "bulk", "foreign_id": "f5"},
    ]
    r = await live.client.post(
        "/api/v1/messages/batch", json={"messages": items}, headers=live.headers
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert [m["recipients"][0]["to"] for m in body["messages"]] == [
        DE_MOBILE, "+436501234567", "+4915112345678", "+4915112345679"
    ]  # fmt: skip
    assert body["messages"][2]["priority"] == "high"
    assert (body["messages"][3]["label"], body["messages"][3]["foreign_id"]) == ("bulk", "f5")
    errors = {e["index"]: e["code"] for e in body["errors"]}
    assert errors == {
        1: "invalid_number",
        2: "invalid_request",
        3: "text_empty",
        4: "text_too_long",
        5: "invalid_sender",
        6: "invalid_request",
    }
    for e in body["errors"]:
        assert e["message"]


async def test_batch_limits(live: Live) -> None:
    r = await live.client.post(
        "/api/v1/messages/batch", json={"messages": []}, headers=live.headers
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "batch_empty"
    many = [{"to": DE_MOBILE, "text": "x"}] * 10_001
    r = await live.client.post(
        "/api/v1/messages/batch", json={"messages": many}, headers=live.headers
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "batch_too_large"


async def test_list_filters_and_cursor(live: Live) -> None:
    ids = []
    for i in range(5):
        r = await live.client.post(
            "/api/v1/messages",
            json={
                "to": f"+4917612345{i:03d}",
                "text": f"m{i}",
                "label": "even" if i % 2 == 0 else "odd",
                "foreign_id": f"f{i}",
            },
            headers=live.headers,
        )
        ids.append(r.json()["id"])
    r = await live.client.get("/api/v1/messages", params={"limit": 2}, headers=live.headers)
    page1 = r.json()
    assert [m["id"] for m in page1["messages"]] == ids[::-1][:2]
    r = await live.client.get(
        "/api/v1/messages",
        params={"limit": 2, "cursor": page1["next_cursor"]},
        headers=live.headers,
    )
    assert [m["id"] for m in r.json()["messages"]] == ids[::-1][2:4]
    r = await live.client.get("/api/v1/messages", params={"label": "even"}, headers=live.headers)
    assert len(r.json()["messages"]) == 3
    r = await live.client.get("/api/v1/messages", params={"foreign_id": "f3"}, headers=live.headers)
    assert [m["id"] for m in r.json()["messages"]] == [ids[3]]
    r = await live.client.get(
        "/api/v1/messages", params={"to": "+4917612345004"}, headers=live.headers
    )
    assert [m["id"] for m in r.json()["messages"]] == [ids[4]]
    await wait_for(lambda: _count(live, "delivered", 5))
    r = await live.client.get("/api/v1/messages", params={"status": "queued"}, headers=live.headers)
    assert r.json()["messages"] == []
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = await live.client.get("/api/v1/messages", params={"since": future}, headers=live.headers)
    assert r.json()["messages"] == []
    r = await live.client.get("/api/v1/messages", params={"until": future}, headers=live.headers)
    assert len(r.json()["messages"]) == 5


async def _count(live: Live, status: str, n: int) -> bool:
    r = await live.client.get(
        "/api/v1/messages", params={"status": status, "limit": 100}, headers=live.headers
    )
    return len(r.json()["messages"]) == n


# Every error: (method, path, json body, headers override, expected status, expected code)
ERROR_CASES: list[tuple[str, str, Any, dict[str, str] | None, int, str]] = [
    ("POST", "/api/v1/messages", {"to": DE_MOBILE, "text": "x"}, {}, 401, "missing_api_key"),
    (
        "POST",
        "/api/v1/messages",
        {"to": DE_MOBILE, "text": "x"},
        {"Authorization": "Bearer nope"},
        401,
        "invalid_api_key",
    ),
    (
        "POST",
        "/api/v1/messages",
        {"to": DE_MOBILE, "text": "x"},
        {"X-Api-Key": "nope"},
        401,
        "invalid_api_key",
    ),
    ("GET", "/api/v1/messages", None, {}, 401, "missing_api_key"),
    ("POST", "/api/v1/messages", {"text": "x"}, None, 422, "invalid_request"),
    ("POST", "/api/v1/messages", {"to": DE_MOBILE}, None, 422, "invalid_request"),
    ("POST", "/api/v1/messages", {"to": 123, "text": "x"}, None, 422, "invalid_request"),
    ("POST", "/api/v1/messages", {"to": DE_MOBILE, "text": ""}, None, 422, "text_empty"),
    ("POST", "/api/v1/messages", {"to": DE_MOBILE, "text": "x" * 1531}, None, 422, "text_too_long"),
    ("POST", "/api/v1/messages", {"to": DE_MOBILE, "text": "ж" * 671}, None, 422, "text_too_long"),
    (
        "POST",
        "/api/v1/messages",
        {"to": DE_MOBILE, "text": "ж", "encoding": "gsm7"},
        None,
        422,
        "not_gsm7",
    ),
    (
        "POST",
        "/api/v1/messages",
        {"to": DE_MOBILE, "text": "x", "encoding": "utf8"},
        None,
        422,
        "invalid_request",
    ),
    ("POST", "/api/v1/messages", {"to": "", "text": "x"}, None, 422, "missing_recipient"),
    ("POST", "/api/v1/messages", {"to": [], "text": "x"}, None, 422, "missing_recipient"),
    (
        "POST",
        "/api/v1/messages",
        {"to": "+49171999999999", "text": "x"},
        None,
        422,
        "invalid_number",
    ),
    (
        "POST",
        "/api/v1/messages",
        {"to": "+999123456", "text": "x"},
        None,
        422,
        "invalid_country_code",
    ),
    (
        "POST",
        "/api/v1/messages",
        {"to": "0176 12345678", "text": "x"},
        None,
        422,
        "region_required",
    ),
    ("POST", "/api/v1/messages", {"to": "hello", "text": "x"}, None, 422, "invalid_number"),
    (
        "POST",
        "/api/v1/messages",
        {"to": ["12", "+999"], "text": "x"},
        None,
        422,
        "no_valid_recipient",
    ),
    (
        "POST",
        "/api/v1/messages",
        {"to": DE_MOBILE, "text": "x", "from": "ab"},
        None,
        422,
        "invalid_sender",
    ),
    (
        "POST",
        "/api/v1/messages",
        {"to": DE_MOBILE, "text": "x", "from": "12345678901234567"},
        None,
        422,
        "invalid_sender",
    ),
    (
        "POST",
        "/api/v1/messages",
        {"to": DE_MOBILE, "text": "x", "priority": "urgent"},
        None,
        422,
        "invalid_request",
    ),
    (
        "POST",
        "/api/v1/messages",
        {"to": DE_MOBILE, "text": "x", "ttl": 0},
        None,
        422,
        "invalid_request",
    ),
    (
        "POST",
        "/api/v1/messages",
        {"to": DE_MOBILE, "text": "x", "send_at": "tomorrow"},
        None,
        422,
        "invalid_request",
    ),
    (
        "POST",
        "/api/v1/messages",
        {"to": DE_MOBILE, "text": "x", "send_at": "2026-05-01T10:00:00"},
        None,
        422,
        "invalid_send_at",
    ),
    (
        "POST",
        "/api/v1/messages",
        {"to": DE_MOBILE, "text": "x", "send_at": "2099-05-01T10:00:00Z"},
        None,
        422,
        "send_at_too_far",
    ),
    (
        "POST",
        "/api/v1/messages",
        {"to": DE_MOBILE, "text": "x", "extra": True},
        None,
        422,
        "invalid_request",
    ),
    (
        "POST",
        "/api/v1/messages",
        {"to": DE_MOBILE, "text": "x", "foreign_id": "f" * 65},
        None,
        422,
        "invalid_request",
    ),
    ("POST", "/api/v1/messages", [1, 2], None, 422, "invalid_request"),
    ("POST", "/api/v1/messages/batch", {"messages": "nope"}, None, 422, "invalid_request"),
    ("POST", "/api/v1/messages/batch", {}, None, 422, "invalid_request"),
    (
        "POST",
        "/api/v1/messages",
        {"to": DE_MOBILE, "text": "x", "send_at": 10**17},
        None,
        422,
        "invalid_request",
    ),
    ("GET", "/api/v1/messages/123", None, None, 404, "message_not_found"),
    ("GET", "/api/v1/messages/abc", None, None, 404, "message_not_found"),
    ("GET", "/api/v1/messages/²", None, None, 404, "message_not_found"),
    ("GET", "/api/v1/messages/9999999999999999999", None, None, 404, "message_not_found"),
    ("GET", "/api/v1/messages?cursor=9999999999999999999", None, None, 422, "invalid_cursor"),
    ("GET", "/api/v1/messages/99999999999999999999999", None, None, 404, "message_not_found"),
    ("DELETE", "/api/v1/messages/123", None, None, 404, "message_not_found"),
    ("GET", "/api/v1/messages?status=bogus", None, None, 422, "invalid_request"),
    ("GET", "/api/v1/messages?limit=0", None, None, 422, "invalid_request"),
    ("GET", "/api/v1/messages?limit=501", None, None, 422, "invalid_request"),
    ("GET", "/api/v1/messages?cursor=xyz", None, None, 422, "invalid_cursor"),
    ("GET", "/api/v1/messages?since=yesterday", None, None, 422, "invalid_request"),
    ("GET", "/api/v1/messages?since=2026-01-01T00:00:00", None, None, 422, "invalid_date"),
    ("PUT", "/api/v1/messages", {}, None, 405, "method_not_allowed"),
    ("GET", "/api/v1/nothing-here", None, None, 404, "not_found"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "code"),
    ERROR_CASES,
    ids=[f"{c[0]} {c[1]} {c[5]}" for c in ERROR_CASES],
)
async def test_errors(
    live: Live,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str] | None,
    status: int,
    code: str,
) -> None:
    r = await live.client.request(
        method, path, json=body, headers=live.headers if headers is None else headers
    )
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["error"]
    assert error["code"] == code
    assert len(error["message"]) > 10


async def test_malformed_json_and_oversized_body(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, max_body_bytes=4096)
    r = await live.client.post(
        "/api/v1/messages",
        content=b'{"to": ',
        headers={**live.headers, "content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = await live.client.post(
        "/api/v1/messages",
        content=b"\xff\xfe garbage",
        headers={**live.headers, "content-type": "application/json"},
    )
    assert r.status_code in (400, 422) and "error" in r.json()
    big = {"to": DE_MOBILE, "text": "x" * 5000}
    r = await live.client.post("/api/v1/messages", json=big, headers=live.headers)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"x" * 1000

    r = await live.client.post("/api/v1/messages", content=chunks(), headers=live.headers)
    assert r.status_code == 413


async def test_health_and_openapi(live: Live) -> None:
    r = await live.client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = await live.client.get("/openapi.json")
    spec = r.json()
    assert "/api/v1/messages" in spec["paths"]
    assert "/api/v1/messages/batch" in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert schemas["MessageIn"].get("examples")
    r = await live.client.get("/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()


async def test_binary_sms_split_and_with_own_header(live: Live) -> None:
    """encoding binary: hex data, split with concatenation headers or sent under the caller's."""
    data = "c0ffee" * 50  # 150 octets: two parts without a header of the caller's
    r = await live.client.post(
        "/api/v1/messages",
        json={"to": DE_MOBILE, "text": data, "encoding": "binary"},
        headers=live.headers,
    )
    assert r.status_code == 202, r.text
    assert (r.json()["encoding"], r.json()["parts"]) == ("binary", 2)
    body = await until_status(live, r.json()["id"], "delivered")
    assert [s["text"] for s in body["segments"]] == [data[:268], data[268:]]
    assert body["segments"][0]["udh"].startswith("050003")
    own = await live.client.post(
        "/api/v1/messages",
        json={"to": DE_MOBILE, "text": "0102", "encoding": "binary", "udh": "0605040B8423F0"},
        headers=live.headers,
    )
    assert own.status_code == 202, own.text
    body = await until_status(live, own.json()["id"], "delivered")
    assert body["segments"] == [{"seq": 1, "text": "0102", "udh": "0605040B8423F0"}]
    assert live.gateway.dispatcher is not None
    connector = live.gateway.dispatcher.router.connectors["simulator"]
    sms = connector.sent[-1]  # type: ignore[attr-defined]
    assert sms.udh == bytes.fromhex("0605040B8423F0") and sms.parts == ("0102",)


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"text": "hello", "encoding": "binary"}, "invalid_binary"),
        ({"text": "00", "encoding": "binary", "udh": "0500"}, "invalid_udh"),
        ({"text": "hello", "udh": "050003CC0201"}, "udh_needs_binary"),
        ({"text": "00" * 135, "encoding": "binary", "udh": "050003CC0201"}, "text_too_long"),
    ],
)
async def test_binary_sms_refusals(live: Live, extra: dict[str, str], code: str) -> None:
    r = await live.client.post(
        "/api/v1/messages", json={"to": DE_MOBILE, **extra}, headers=live.headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code
