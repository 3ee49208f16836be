"""The Smstools API (smsgatewayapi.com) under ``/smsgatewayapi``: the real PyPI SDK
``smstools-api-client`` (run in .venv-sdk: it needs pydantic 1) against a live server, the
recorded SDK requests replayed, every route and its errors, and a message followed from send
to delivery, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Live, wait_for

ROOT = Path(__file__).resolve().parents[2]
SDK_PYTHON = ROOT / ".venv-sdk" / "bin" / "python"
SCRIPT = Path(__file__).parent / "fixtures" / "smstools" / "sdk_script.py"
CAPTURES = ROOT.parent / "shared" / "reference" / "captures"
CAPTURE = CAPTURES / "pypi_smstools-api-client-0.0.10.jsonl"
P = "/smsgatewayapi"


@dataclass
class St:
    live: Live
    client_id: str
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Client-Id": self.client_id, "X-Client-Secret": self.secret}

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.live.client.request(method, P + path, headers=headers, **kwargs)

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.call(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
async def st(live: Live) -> St:
    created = await live.gateway.keys.create(name="smstools")
    return St(live, str(created.id), created.key)


def error_of(response: httpx.Response, status: int, code: int | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "errorMsg"}, body
    assert isinstance(body["error"], int) and isinstance(body["errorMsg"], str)
    if code is not None:
        assert body["error"] == code, body
    return str(body["errorMsg"])


# -- the real SDK ----------------------------------------------------------------------------


@pytest.mark.skipif(not SDK_PYTHON.exists(), reason="`make sdks` installs the SDK in .venv-sdk")
async def test_the_sdk_against_a_live_server(st: St) -> None:
    await st.live.client.post(
        "/api/v1/simulator/inbound",
        headers=st.live.headers,
        json={"from": "+32470111222", "text": "Hello there", "to": "+32470000000"},
    )
    proc = await asyncio.create_subprocess_exec(
        str(SDK_PYTHON), str(SCRIPT), st.live.base_url, st.client_id, st.secret,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, stderr.decode()
    out = json.loads(stdout)
    for name, value in out.items():
        assert not (isinstance(value, dict) and "exception" in value), (name, value)
    gid = out["group"]["ID"][0]
    assert isinstance(gid, int)
    cid = out["contact"]["ID"][0]
    assert isinstance(cid, int)
    contacts = out["contacts"]
    assert (contacts["total"], contacts["shown"], contacts["page"]) == (1, 1, 1)
    (contact,) = contacts["contacts"]
    assert contact["ID"] == str(cid) and contact["phone"] == "32470123456"
    assert contact["groupid"] == str(gid) and contact["firstname"] == "John"
    assert contact["extra1"] == "x1" and contact["birthday"] == "1990-01-31"
    assert out["search"]["contacts"][0]["ID"] == str(cid)
    assert out["update_contact"]["firstname"] == "Jack"
    assert out["update_contact"]["lastname"] == "Doe"
    assert out["groups"] == [{"name": "VIP", "ID": gid, "locked": 0, "whatsapp": 0}]
    assert out["get_group"]["groupinfo"]["name"] == "VIP"
    assert [c["ID"] for c in out["get_group"]["contacts"]] == [str(cid)]
    assert out["update_group"]["name"] == "VIPs"
    assert out["send"]["messageid"].isdigit()
    assert out["send_scheduled"]["messageid"].isdigit()
    assert out["send_test"]["messageid"].isdigit()
    balance = out["balance"]
    assert isinstance(balance["credits"], str) and isinstance(balance["currency"], str)
    assert isinstance(balance["use"], float)
    assert out["account"]["username"] == "default"
    inbox = out["inbox"]
    assert inbox["total"] == 1
    assert inbox["messages"][0]["message"] == "Hello there"
    assert inbox["messages"][0]["sender"] == "32470111222"
    outbox = out["outbox"]
    assert outbox["total"] == 1
    assert outbox["messages"][0]["messageid"] == out["send_scheduled"]["messageid"]
    assert outbox["messages"][0]["date"] == "2030-01-01 12:00"
    assert outbox["messages"][0]["reference"] == "ref-2"
    history = out["history"]
    assert history["total"] == 3
    assert {m["message_ID"] for m in history["messages"]} == {
        out["send"]["messageid"], out["send_scheduled"]["messageid"],
        out["send_test"]["messageid"],
    }  # fmt: skip
    assert isinstance(out["reports"], list)
    assert out["remove_from_outbox"] is None
    assert out["outbox_after"]["total"] == 0
    assert out["optout"] is None
    assert out["optouts"][0]["number"] == "32470999888"
    assert out["optouts_after"] == []
    assert out["remove_contact"] is None and out["remove_group"] is None
    assert out["missing_group"]["status"] == 404
    assert out["bad_client"]["status"] == 401


# -- the recorded requests -------------------------------------------------------------------


def _captures() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CAPTURE.read_text().splitlines() if line.strip()]


def _check_reply(path: str, body: Any) -> None:
    """The reply is what the SDK's model for that method parses (types as it checks them)."""
    if path == "/v1/message/send":
        assert set(body) == {"messageid"} and isinstance(body["messageid"], str)
    elif path in ("/v1/contact", "/v1/groups"):
        assert set(body) == {"ID"}
        assert all(isinstance(i, int) and not isinstance(i, bool) for i in body["ID"])
        assert len(body["ID"]) == 1
    elif path == "/v1/balance":
        assert isinstance(body["credits"], str) and isinstance(body["currency"], str)
        assert isinstance(body["use"], float)
    else:  # pragma: no cover
        raise AssertionError(path)


@pytest.mark.parametrize("record", _captures(), ids=lambda r: f"{r['method']} {r['path']}")
async def test_captured_requests_replayed(st: St, record: dict[str, Any]) -> None:
    headers = {
        k: v
        for k, v in record["headers"].items()
        if k.lower() not in ("host", "content-length", "x-client-id", "x-client-secret")
    }
    body = record["body_raw"]
    if record["path"] == "/v1/contact":
        # The capture names group 12; this account's group takes its place.
        group = await st.ok("POST", "/v1/groups", json={"name": "captured"})
        parsed = dict(record["body_parsed"], groupid=str(group["ID"][0]))
        body = json.dumps(parsed)
    response = await st.call(
        record["method"], record["path"], params=record["query"], headers=headers,
        content=body.encode() if body else None,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    _check_reply(record["path"], response.json())


# -- sending and following a message ---------------------------------------------------------


async def test_send_until_delivered_read_back_the_smstools_way(st: St) -> None:
    sent = await st.ok(
        "POST", "/v1/message/send",
        json={"message": "Your code is 1234", "to": "32470123456", "sender": "MyShop",
              "reference": "order-7"},
    )  # fmt: skip
    message_id = sent["messageid"]

    async def delivered() -> Any:
        reports = await st.ok("GET", f"/v1/webhook/{message_id}")
        return reports if reports and reports[0]["message"]["delivery_code"] == "1" else None

    (report,) = await wait_for(delivered)
    assert report["webhook_type"] == "delivery_report"
    message = report["message"]
    assert message["messageid"] == message_id
    assert message["delivery_status"] == "DELIVERED"
    assert message["receiver"] == "32470123456"
    assert message["content"] == "Your code is 1234" and message["sender"] == "MyShop"
    assert message["reference"] == "order-7"
    logging = await st.ok("GET", "/v1/message/logging")
    (entry,) = logging["messages"]
    assert entry["message_ID"] == message_id and entry["status"] == "DELIVERED"
    assert entry["to"] == "32470123456" and entry["reference"] == "order-7"
    # It left at once: never in the outbox, and too late to cancel.
    assert (await st.ok("GET", "/v1/outbox"))["total"] == 0
    error_of(await st.call("DELETE", f"/v1/outbox/{message_id}"), 409, 107)
    error_of(await st.call("GET", f"/v1/outbox/{message_id}"), 404, 104)


async def test_send_to_many_numbers_a_list_body_and_a_group(st: St) -> None:
    many = await st.ok(
        "POST", "/v1/message/send",
        json={"message": "Hi", "to": ["32470123456", "32470123457"], "sender": "MyShop"},
    )  # fmt: skip
    assert set(many) == {"messageids"} and len(set(many["messageids"])) == 2
    commas = await st.ok(
        "POST", "/v1/message/send", json={"message": "Hi again", "to": "32470123456,32470123458"}
    )
    assert len(commas["messageids"]) == 2 and "errors" not in commas
    # The same text to the same number moments later is refused (the reload lock).
    again = await st.call(
        "POST", "/v1/message/send", json={"message": "Hi again", "to": ["32470123456", "1"]}
    )
    assert "180 s" in error_of(again, 409, 107)
    forced = await st.ok(
        "POST", "/v1/message/send",
        json={"message": "Hi again", "to": "32470123456", "no_reload": True},
    )  # fmt: skip
    assert set(forced) == {"messageid"}
    listed = await st.ok(
        "POST", "/v1/message/send",
        json=[{"message": "A", "to": "32470123456", "sender": "MyShop"},
              {"message": "B", "to": "32470123457", "sender": "MyShop", "test": True}],
    )  # fmt: skip
    assert len(listed["messageids"]) == 2
    record = await st.live.gateway.messages.get(
        await st.live.gateway.keys.authenticate(st.secret), int(listed["messageids"][1])
    )
    assert record.message["test"] is True and record.message["text"] == "B"
    # Invalid numbers of a list are reported, the others sent.
    mixed = await st.ok(
        "POST", "/v1/message/send", json={"message": "Mixed", "to": ["32470123456", "12"]}
    )
    assert len(mixed["messageids"]) == 1
    assert [e["error"] for e in mixed["errors"]] == [103]
    # A group: one message to its members.
    group = (await st.ok("POST", "/v1/groups", json={"name": "team"}))["ID"][0]
    await st.ok(
        "POST", "/v1/contact",
        json=[{"phone": "32470123456", "groupid": group},
              {"phone": "32470123459", "groupid": group}],
    )  # fmt: skip
    to_group = await st.ok(
        "POST", "/v1/message/send", json={"message": "Team!", "to": str(group), "type": "group"}
    )
    caller = await st.live.gateway.keys.authenticate(st.secret)
    record = await st.live.gateway.messages.get(caller, int(to_group["messageid"]))
    assert sorted(r["to_number"] for r in record.recipients) == ["+32470123456", "+32470123459"]
    error_of(
        await st.call("POST", "/v1/message/send",
                      json={"message": "x", "to": "999999", "type": "group"}),
        404, 104,
    )  # fmt: skip
    error_of(
        await st.call("POST", "/v1/message/send",
                      json={"message": "x", "to": "team", "type": "group"}),
        400, 102,
    )  # fmt: skip


async def test_test_mode_from_the_query_string(st: St) -> None:
    sent = await st.ok(
        "POST", "/v1/message/send", params={"test": "true"},
        json={"message": "x", "to": "32470123456"},
    )  # fmt: skip
    caller = await st.live.gateway.keys.authenticate(st.secret)
    record = await st.live.gateway.messages.get(caller, int(sent["messageid"]))
    assert record.message["test"] is True


async def test_scheduled_message_waits_in_the_outbox_and_is_cancelled(st: St) -> None:
    sent = await st.ok(
        "POST", "/v1/message/send",
        json={"message": "Later", "to": "32470123456", "date": "2031-05-06 07:08"},
    )  # fmt: skip
    message_id = sent["messageid"]
    outbox = await st.ok("GET", "/v1/outbox", params={"limit": 5})
    assert (outbox["total"], outbox["shown"], outbox["page"], outbox["limit"]) == (1, 1, 1, 5)
    (entry,) = outbox["messages"]
    assert entry == {
        "ID": int(message_id), "messageid": message_id, "message": "Later", "sender": None,
        "to": "32470123456", "type": "sms", "date": "2031-05-06 07:08", "reference": None,
    }  # fmt: skip
    assert await st.ok("GET", f"/v1/outbox/{message_id}") == entry
    assert (await st.ok("GET", "/v1/outbox", params={"page": 2, "limit": 1}))["messages"] == []
    assert await st.ok("DELETE", f"/v1/outbox/{message_id}") == {"messageid": message_id}
    assert (await st.ok("GET", "/v1/outbox"))["total"] == 0
    logging = await st.ok("GET", "/v1/message/logging")
    assert logging["messages"][0]["status"] == "CANCELLED"
    error_of(await st.call("DELETE", f"/v1/outbox/{message_id}"), 409, 107)
    error_of(await st.call("DELETE", "/v1/outbox/123"), 404, 104)
    error_of(await st.call("DELETE", "/v1/outbox/abc"), 404, 104)


async def test_send_errors(st: St) -> None:
    cases: list[tuple[Any, int, int]] = [
        ({"to": "32470123456"}, 400, 102),  # no message
        ({"message": "x"}, 400, 102),  # no to
        ({"message": "x", "to": "12"}, 400, 103),
        ({"message": "x", "to": "32470123456", "sender": "!!bad sender!!"}, 400, 102),
        ({"message": "x", "to": "32470123456", "date": "tomorrow"}, 400, 102),
        ({"message": "x", "to": "32470123456", "reference": "r" * 65}, 400, 102),
        ({"message": "x", "to": "32470123456", "test": "maybe"}, 400, 102),
        ({"message": ["x"], "to": "32470123456"}, 400, 102),
        ({"message": "x", "to": {"a": 1}}, 400, 102),
        ([], 400, 102),
        ([{"message": "x"}, 5], 400, 102),  # nothing valid in a list: its first error
    ]
    for body, status, code in cases:
        error_of(await st.call("POST", "/v1/message/send", json=body), status, code)
    error_of(await st.call("POST", "/v1/message/send", content=b"{not json"), 400, 102)


async def test_no_credit_is_402(st: St) -> None:
    gw = st.live.gateway
    caller = await gw.keys.authenticate(st.secret)
    await gw.billing.configure(caller.account_id, prepaid=True, actor="test")
    response = await st.call("POST", "/v1/message/send", json={"message": "x", "to": "32470123456"})
    error_of(response, 402, 105)
    balance = await st.ok("GET", "/v1/balance")
    assert balance == {"credits": "0", "currency": "credits", "use": 1.0}
    await gw.billing.credit(caller.account_id, "12.5", note=None, actor="test")
    assert (await st.ok("GET", "/v1/balance"))["credits"] == "12.5"
    account = await st.ok("GET", "/v1/account")
    assert account["credits"] == 12.5 and account["username"] == "default"


# -- received SMS ----------------------------------------------------------------------------


async def test_inbox_pages(st: St) -> None:
    for i in range(3):
        response = await st.live.client.post(
            "/api/v1/simulator/inbound",
            headers=st.live.headers,
            json={"from": "+32470111222", "text": f"reply {i}", "to": "+32470000000"},
        )
        assert response.status_code == 201, response.text
    first = await st.ok("GET", "/v1/message/inbox", params={"limit": 2})
    assert (first["total"], first["shown"], first["page"], first["limit"]) == (3, 2, 1, 2)
    assert [m["message"] for m in first["messages"]] == ["reply 2", "reply 1"]
    message = first["messages"][0]
    assert set(message) == {"ID", "message", "sender", "receiver", "type", "date"}
    assert isinstance(message["ID"], int) and message["sender"] == "32470111222"
    assert message["receiver"] == "32470000000" and message["type"] == "sms"
    second = await st.ok("GET", "/v1/message/inbox", params={"limit": 2, "page": 2})
    assert [m["message"] for m in second["messages"]] == ["reply 0"]
    past = await st.ok("GET", "/v1/message/inbox", params={"limit": 2, "page": 3})
    assert past["messages"] == [] and past["total"] == 3
    one = await st.ok("GET", f"/v1/message/inbox/{message['ID']}")
    assert one["messages"] == [message]
    error_of(await st.call("GET", "/v1/message/inbox/999999"), 404, 104)
    for bad in ({"limit": 0}, {"limit": 2001}, {"page": 0}, {"page": "x"}):
        error_of(await st.call("GET", "/v1/message/inbox", params=bad), 400, 102)


# -- address book ----------------------------------------------------------------------------


async def test_contacts(st: St) -> None:
    group = (await st.ok("POST", "/v1/groups", json={"name": "customers"}))["ID"][0]
    # The same name again answers the same group.
    assert (await st.ok("POST", "/v1/groups", json={"name": "customers"}))["ID"] == [group]
    single = await st.ok(
        "POST", "/v1/contact",
        json={"phone": "32470123456", "groupid": str(group), "firstname": "John",
              "memo": "ignored", "extra10": "ten", "email": "j@example.com"},
    )  # fmt: skip
    (john,) = single["ID"]
    many = await st.ok(
        "POST", "/v1/contact",
        json=[
            {"phone": "32470123457", "groupid": group, "firstname": "Jane", "lastname": "Doe"},
            {"phone": "12", "groupid": group},
            {"phone": "32470123458", "groupid": group, "unsubscribed": True},
            {"phone": "32470123459", "groupid": 999999},
        ],
    )  # fmt: skip
    assert len(many["IDs"]) == 2
    assert [e["error"] for e in many["errors"]] == [103, 104]
    assert all(isinstance(e["errorMsg"], str) for e in many["errors"])
    listed = await st.ok("GET", "/v1/contact", params={"limit": 2})
    assert (listed["total"], listed["shown"]) == (3, 2)
    first = listed["contacts"][0]
    assert first == {
        "ID": str(john), "phone": "32470123456", "groupid": str(group), "unsubscribed": False,
        "memo": None, "firstname": "John", "lastname": None, "email": "j@example.com",
        "birthday": None, **{f"extra{i}": None for i in range(1, 10)}, "extra10": "ten",
    }  # fmt: skip
    page2 = await st.ok("GET", "/v1/contact", params={"limit": 2, "page": 2})
    assert [c["phone"] for c in page2["contacts"]] == ["32470123458"]
    assert page2["contacts"][0]["unsubscribed"] is True
    by_group = await st.ok("GET", "/v1/contact", params={"groupid": group})
    assert by_group["total"] == 3
    found = await st.ok("GET", "/v1/contact/search/Jane")
    assert [c["firstname"] for c in found["contacts"]] == ["Jane"]
    assert (await st.ok("GET", "/v1/contact/search/nobody"))["total"] == 0
    other = (await st.ok("POST", "/v1/groups", json={"name": "others"}))["ID"][0]
    changed = await st.ok(
        "PATCH", "/v1/contact",
        json={"ID": str(john), "phone": "32470123456", "groupid": str(other), "lastname": "Doe"},
    )  # fmt: skip
    assert changed["groupid"] == str(other) and changed["lastname"] == "Doe"
    assert changed["firstname"] == "John"
    assert await st.ok("DELETE", f"/v1/contact/{john}") == {"ID": [john]}
    error_of(await st.call("DELETE", f"/v1/contact/{john}"), 404, 104)
    error_of(await st.call("DELETE", "/v1/contact/abc"), 404, 104)
    error_of(
        await st.call("PATCH", "/v1/contact", json={"ID": str(john), "phone": "32470123456"}),
        404, 104,
    )  # fmt: skip
    error_of(await st.call("PATCH", "/v1/contact", json={"phone": "32470123456"}), 400, 102)
    error_of(await st.call("PATCH", "/v1/contact", json=[{"ID": "1"}]), 400, 102)
    # One contact with an error is an error reply.
    error_of(await st.call("POST", "/v1/contact", json={"phone": "12", "groupid": group}), 400, 103)
    error_of(await st.call("POST", "/v1/contact", json={"phone": "32470123456"}), 400, 102)
    error_of(
        await st.call("POST", "/v1/contact", json={"phone": "32470123456", "groupid": "x"}),
        400, 102,
    )  # fmt: skip
    error_of(
        await st.call("POST", "/v1/contact", json={"phone": "32470123456", "groupid": 999999}),
        404, 104,
    )  # fmt: skip
    error_of(await st.call("POST", "/v1/contact", json=[]), 400, 102)
    error_of(await st.call("GET", "/v1/contact", params={"groupid": "x"}), 400, 102)
    error_of(await st.call("GET", "/v1/contact", params={"limit": 5000}), 400, 102)


async def test_groups(st: St) -> None:
    a = (await st.ok("POST", "/v1/groups", json={"name": "A"}))["ID"][0]
    b = (await st.ok("POST", "/v1/groups", json={"name": "B"}))["ID"][0]
    for i in range(3):
        await st.ok("POST", "/v1/contact", json={"phone": f"3247012345{i}", "groupid": a})
    groups = await st.ok("GET", "/v1/groups")
    assert [g["ID"] for g in groups] == [a, b]
    assert [g["ID"] for g in await st.ok("GET", "/v1/groups", params={"limit": 1, "page": 2})] == [
        b
    ]
    detail = await st.ok("GET", f"/v1/groups/{a}", params={"limit": 2, "page": 2})
    assert (detail["total"], detail["shown"], detail["page"]) == (3, 1, 2)
    assert detail["groupinfo"] == {"ID": a, "name": "A", "locked": 0, "whatsapp": 0}
    assert detail["contacts"][0]["phone"] == "32470123452"
    renamed = await st.ok("PATCH", "/v1/groups", json={"ID": b, "name": "Bee"})
    assert renamed["name"] == "Bee" and renamed["ID"] == b
    error_of(await st.call("PATCH", "/v1/groups", json={"ID": b, "name": "A"}), 409, 107)
    error_of(await st.call("PATCH", "/v1/groups", json={"name": "x"}), 400, 102)
    error_of(await st.call("PATCH", "/v1/groups", json={"ID": b}), 400, 102)
    error_of(await st.call("PATCH", "/v1/groups", json={"ID": 999999, "name": "x"}), 404, 104)
    error_of(await st.call("POST", "/v1/groups", json={}), 400, 102)
    error_of(await st.call("POST", "/v1/groups", json={"name": "n" * 101}), 400, 102)
    assert await st.ok("DELETE", f"/v1/groups/{b}") == {"ID": [b]}
    error_of(await st.call("DELETE", f"/v1/groups/{b}"), 404, 104)
    error_of(await st.call("GET", f"/v1/groups/{b}"), 404, 104)
    error_of(await st.call("GET", "/v1/groups/A"), 404, 104)


async def test_optouts(st: St) -> None:
    assert await st.ok("POST", "/v1/optouts", json={"number": "32470123456"}) == {
        "number": "32470123456"
    }
    both = await st.ok("POST", "/v1/optouts", json={"number": ["32470123457", "+32470123458"]})
    assert both == {"numbers": ["32470123457", "32470123458"]}
    listed = await st.ok("GET", "/v1/optouts/list")
    assert [o["number"] for o in listed] == ["32470123456", "32470123457", "32470123458"]
    assert listed[0]["memo"] == "api" and len(listed[0]["date"]) == 19
    # An opted-out number gets no marketing: the message is stored, the recipient rejected.
    sent = await st.ok("POST", "/v1/message/send", json={"message": "Sale!", "to": "32470123456"})
    logging = await st.ok("GET", "/v1/message/logging")
    assert logging["messages"][0]["message_ID"] == sent["messageid"]
    assert logging["messages"][0]["status"] == "REJECTED"
    assert await st.ok("DELETE", "/v1/optouts/32470123456") == {"number": "32470123456"}
    error_of(await st.call("DELETE", "/v1/optouts/32470123456"), 404, 104)
    error_of(await st.call("POST", "/v1/optouts", json={}), 400, 102)
    error_of(await st.call("POST", "/v1/optouts", json={"number": "12"}), 400, 103)
    error_of(await st.call("POST", "/v1/optouts", json={"number": True}), 400, 102)


# -- credentials and unknown paths -----------------------------------------------------------


async def test_credentials(st: St) -> None:
    client = st.live.client
    cases: list[tuple[dict[str, str], int, int]] = [
        ({}, 401, 101),
        ({"X-Client-Id": st.client_id}, 401, 101),
        ({"X-Client-Secret": st.secret}, 401, 101),
        ({"X-Client-Id": st.client_id, "X-Client-Secret": "sb_wrong"}, 401, 101),
        ({"X-Client-Id": "999", "X-Client-Secret": st.secret}, 401, 101),
    ]
    for headers, status, code in cases:
        error_of(await client.get(P + "/v1/balance", headers=headers), status, code)
    # Another key of the account is its own pair.
    other = await st.live.gateway.keys.create(name="other")
    error_of(
        await client.get(
            P + "/v1/balance", headers={"X-Client-Id": str(other.id), "X-Client-Secret": st.secret}
        ),
        401, 101,
    )  # fmt: skip
    ok = await client.get(
        P + "/v1/balance", headers={"X-Client-Id": str(other.id), "X-Client-Secret": other.key}
    )
    assert ok.status_code == 200
    # Scopes apply: a read-only key cannot send.
    reader = await st.live.gateway.keys.create(name="reader", scopes="messages:read")
    response = await client.post(
        P + "/v1/message/send",
        headers={"X-Client-Id": str(reader.id), "X-Client-Secret": reader.key},
        json={"message": "x", "to": "32470123456"},
    )
    error_of(response, 403, 106)
    await st.live.gateway.keys.revoke(other.id)
    error_of(
        await client.get(
            P + "/v1/balance", headers={"X-Client-Id": str(other.id), "X-Client-Secret": other.key}
        ),
        401, 101,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/nothing"), ("POST", "/v2/message/send"), ("PUT", "/v1/contact"),
     ("GET", ""), ("GET", "/"), ("DELETE", "/v1/balance")],
)  # fmt: skip
async def test_unknown_paths_answer_in_style(st: St, method: str, path: str) -> None:
    error_of(await st.call(method, path), 404, 104)
