"""The SmsGateway24 API (``/smsgateway24/getdata``) against a live server, on SQLite and
PostgreSQL: the requests the official PHP SDK and the ``sms-gateway24`` npm client were
recorded sending (../shared/reference/captures), replayed byte for byte where the SDKs' own
values can be used, and checked for what each SDK reads; then every method, every filter of
getallsms, the simulator and a fake Android phone end to end, and every error.

The SDKs themselves cannot run here (no PHP; the npm package is not on the registry), so the
requests are sent with httpx exactly as captured: urlencoded, multipart, raw JSON.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from smsbridge.compat.smsgateway24.devices import VIRTUAL_IDS, phone_number_id
from smsbridge.services.message_plan import MAX_SCHEDULE_AHEAD_US
from smsbridge.testing.fake_device import FakeDevice, Outcome
from smsbridge.testing.fake_device.records import DEFAULT_SIMS, SimCard
from tests.conftest import Live, wait_for

BASE = "/smsgateway24/getdata"
CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "captures"
EMAIL = "user@example.com"
PASSWORD = "s3cret-pass-24"
SIMULATOR = VIRTUAL_IDS["simulator"]
ANNA = "+4915752982212"
BEN = "+4917612345602"
FAST = {
    "poll_interval_ms": 20,
    "events_poll_interval_ms": 20,
    "devices_poll_interval_ms": 50,
}


@dataclass
class Account:
    live: Live
    key: str  # an API key of the account that has the email and password
    account_id: int

    @property
    def client(self) -> httpx.AsyncClient:
        return self.live.client

    async def call(self, name: str, *, get: bool = False, **params: Any) -> dict[str, Any]:
        """A method called as the SDKs do: GET with a query, or POST urlencoded."""
        params = {"token": self.key, **params}
        if get:
            r = await self.client.get(f"{BASE}/{name}", params=params)
        else:
            r = await self.client.post(f"{BASE}/{name}", data=params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/json")
        body: dict[str, Any] = r.json()
        return body

    async def ok(self, name: str, **params: Any) -> dict[str, Any]:
        body = await self.call(name, **params)
        assert body["error"] == 0, body
        return body

    async def status(self, sms_id: int) -> int:
        body = await self.ok("getsmsstatus", get=True, sms_id=sms_id)
        return int(body["status"])


@pytest.fixture
async def acct(live_factory: Any, database_url: str) -> Account:
    live: Live = await live_factory(database_url, **FAST)
    record = await live.gateway.accounts.create("acme", email=EMAIL, password=PASSWORD)
    key = (await live.gateway.keys.create(account="acme", name="sg24")).key
    return Account(live, key, record.id)


# ------------------------------------------------------------------ the recorded SDK requests


def _load(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (CAPTURES / name).read_text().splitlines() if line]


def _php_error_check(body: dict[str, Any]) -> None:
    # SmsGateway24\SmsGateway24::request(): json_decode, then throw if error == 1
    assert body.get("error") != 1, body


# What each SDK reads from each method's answer (providers.md §B.1, B.2).
PHP_READS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "addsms": lambda b: isinstance(b["sms_id"], int),
    "getsmsstatus": lambda b: (
        isinstance(b["sms_id"], int) and isinstance(b["status"], int)
        and isinstance(b["status_description"], str)
    ),
    "getdevicestatus": lambda b: (
        set(b["lastseen"]) == {"date", "timezone_type", "timezone"}
        and isinstance(b["device_id"], int) and isinstance(b["title"], str)
    ),
    "savetag": lambda b: isinstance(b["tag_id"], int),
    "savecontact": lambda b: isinstance(b["contact_id"], int),
    "savepaket": lambda b: isinstance(b["paket_id"], int),
}  # fmt: skip
NPM_READS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "gettoken": lambda b: b["error"] == 0 and isinstance(b["token"], str),
    "addsms": lambda b: isinstance(b["sms_id"], int),
    "getsmsstatus": lambda b: (
        isinstance(b["sms_id"], int) and isinstance(b["status"], int)
        and isinstance(b["status_description"], str)
    ),
    "savecontact": lambda b: isinstance(b["contact_id"], int),
    "addalotofsms": lambda b: b["error"] == 0,
    "getallsms": lambda b: isinstance(b["sms"], dict) and isinstance(b["smss"], dict),
    "getdevicestatus": lambda b: isinstance(b["device_id"], int),
    "getalldevices": lambda b: isinstance(b["device"], dict),
    "savetag": lambda b: isinstance(b["tag_id"], int),
    "savepaket": lambda b: isinstance(b["paket"], int),
}  # fmt: skip


class Substitutions:
    """Values in the captures that only made sense on the recorder's server: the redacted
    credentials, its device 12345, its tags 1009/1010, its SMS 62807347, and the send time
    2030-01-01 if that is beyond how far ahead smsbridge schedules. Everything else is sent as
    recorded."""

    def __init__(self, acct: Account, token: str, tags: list[int]) -> None:
        self.values = {
            "<redacted>": token,
            "12345": str(SIMULATOR),
            "1009": str(tags[0]),
            "1009,1010": f"{tags[0]},{tags[1]}",
        }
        recorded = datetime(2030, 1, 1, 12, tzinfo=UTC)
        if (recorded - datetime.now(UTC)).total_seconds() * 1e6 > MAX_SCHEDULE_AHEAD_US:
            soon = datetime.now(UTC) + timedelta(days=30)
            self.values["2030-01-01 12:00:00"] = soon.strftime("%Y-%m-%d %H:%M:%S")
        self.by_name = {"pass": PASSWORD, "email": EMAIL}
        self.sms_id: int | None = None

    def value(self, name: str, value: Any) -> Any:
        if name in self.by_name:
            return self.by_name[name]
        if name == "sms_id" and self.sms_id is not None:
            return str(self.sms_id)
        if isinstance(value, str):
            return self.values.get(value, value)
        if isinstance(value, int) and str(value) in self.values:
            return int(self.values[str(value)])
        return value

    def pairs(
        self, pairs: list[tuple[str, str]]
    ) -> list[tuple[str, str | int | float | bool | None]]:
        return [(k, self.value(k, v)) for k, v in pairs]

    def json(self, value: Any, name: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self.json(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v, name) for v in value]
        return self.value(name, value)


async def replay(acct: Account, entry: dict[str, Any], subs: Substitutions) -> httpx.Response:
    path = BASE + entry["path"].removeprefix("/getdata")
    headers = {
        k: v
        for k, v in entry["headers"].items()
        if k.lower() in ("user-agent", "accept", "content-type")
    }
    query = httpx.QueryParams(
        subs.pairs([(k, v) for k, values in entry["query"].items() for v in values])
    )
    kind = entry["body_kind"]
    if kind is None:
        return await acct.client.request(entry["method"], path, params=query, headers=headers)
    if kind == "urlencoded":
        body = urlencode(subs.pairs(parse_qsl(entry["body_raw"], keep_blank_values=True)))
        return await acct.client.request(
            entry["method"], path, params=query, content=body.encode(), headers=headers
        )
    if kind == "multipart":
        headers.pop("Content-Type", None)  # httpx writes its own boundary
        fields = [(k, v) for k, values in entry["body_parsed"].items() for v in values]
        files = [(k, (None, str(v))) for k, v in subs.pairs(fields)]
        return await acct.client.request(
            entry["method"], path, params=query, files=files, headers=headers
        )
    assert kind == "json"
    content = json.dumps(subs.json(json.loads(entry["body_raw"]))).encode()
    return await acct.client.request(
        entry["method"], path, params=query, content=content, headers=headers
    )


@pytest.mark.parametrize(
    ("capture", "reads"),
    [
        ("php_smsgateway24-php-sdk.jsonl", PHP_READS),
        ("github_smsgateway24-npm-1.0.3.jsonl", NPM_READS),
    ],
)
async def test_recorded_sdk_requests_get_what_the_sdk_reads(
    acct: Account, capture: str, reads: dict[str, Callable[[dict[str, Any]], bool]]
) -> None:
    tags = [(await acct.ok("savetag", title=t))["tag_id"] for t in ("Staff", "Friends")]
    await acct.ok("savecontact", phone="+4917612345677", fullname="Eve", tag_id=tags[0])
    subs = Substitutions(acct, acct.key, tags)
    entries = _load(capture)
    assert entries
    for entry in entries:
        name = entry["path"].rsplit("/", 1)[-1]
        r = await replay(acct, entry, subs)
        assert r.status_code == 200, (name, r.text)
        body = r.json()
        _php_error_check(body)
        assert body["error"] == 0, (name, body)
        assert reads[name](body) is not False, (name, body)
        if name == "gettoken":  # the npm client uses the token it got from now on
            subs.values["<redacted>"] = body["token"]
        if name == "addsms":
            subs.sms_id = body["sms_id"]


# ------------------------------------------------------------------ every request format


def _multipart(params: dict[str, Any]) -> list[tuple[str, tuple[None, str]]]:
    return [(k, (None, str(v))) for k, v in params.items()]


@pytest.mark.parametrize("style", ["get", "urlencoded", "multipart", "json", "json-as-form"])
async def test_every_method_reads_query_urlencoded_multipart_and_json(
    acct: Account, style: str
) -> None:
    async def send(name: str, params: dict[str, Any]) -> dict[str, Any]:
        params = {"token": acct.key, **params}
        url = f"{BASE}/{name}"
        if style == "get":
            r = await acct.client.get(url, params=params)
        elif style == "urlencoded":
            r = await acct.client.post(url, data=params)
        elif style == "multipart":
            r = await acct.client.post(url, files=_multipart(params))
        elif style == "json":
            r = await acct.client.post(url, json=params)
        else:  # curl's default label on a JSON body
            r = await acct.client.post(
                url, content=json.dumps(params).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )  # fmt: skip
        body: dict[str, Any] = r.json()
        assert r.status_code == 200 and body["error"] == 0, body
        return body

    sent = await send("addsms", {"sendto": ANNA, "body": "hi", "device_id": SIMULATOR})
    status = await send("getsmsstatus", {"sms_id": sent["sms_id"]})
    assert status["sms_id"] == sent["sms_id"]
    tag = await send("savetag", {"title": f"tag-{style}"})
    contact = await send(
        "savecontact", {"phone": BEN, "fullname": "Ben B", "tag_id": tag["tag_id"]}
    )
    assert contact["contact_id"] > 0
    listed = await send("getallsms", {"onlycount": 1})
    assert listed["count"] >= 1
    assert (await send("getalldevices", {}))["count"] == 1
    assert (await send("getdevicestatus", {"device_id": SIMULATOR}))["online"] is True
    paket = await send("savepaket", {"title": "p", "body": "x", "tags": tag["tag_id"]})
    assert paket["paket_id"] == paket["paket"]


async def test_addalotofsms_takes_raw_json_or_a_datajson_field(acct: Account) -> None:
    items = [
        {"sendto": ANNA, "body": "one", "device_id": SIMULATOR, "sim": 1, "customerid": 122},
        {"sendto": BEN, "body": "two", "urgent": 1},
    ]
    r = await acct.client.post(f"{BASE}/addalotofsms", json={"token": acct.key, "smsdata": items})
    raw = r.json()
    assert raw["error"] == 0 and raw["message"] == "Sms has been saved successfully"
    assert len(raw["sms_ids"]) == 2 and all(isinstance(i, int) for i in raw["sms_ids"])

    def datajson(n: int) -> str:  # new texts: the account's 180 s reload lock stays on
        batch = [{**item, "body": f"{item['body']} {n}"} for item in items]
        return json.dumps({"token": acct.key, "smsdata": batch})

    for r in (
        await acct.client.post(f"{BASE}/addalotofsms", data={"datajson": datajson(1)}),
        await acct.client.post(f"{BASE}/addalotofsms", files=_multipart({"datajson": datajson(2)})),
        await acct.client.get(f"{BASE}/addalotofsms", params={"datajson": datajson(3)}),
    ):
        assert r.json()["error"] == 0 and len(r.json()["sms_ids"]) == 2, r.text
    listed = await acct.ok("getallsms", get=True, customerid=122)
    assert listed["count"] == 4
    assert {s["urgent"] for s in listed["smss"].values()} == {0}
    # one bad item: the others are saved, the bad one reported by index
    r = await acct.client.post(
        f"{BASE}/addalotofsms",
        json={"token": acct.key, "smsdata": [{"sendto": ANNA, "body": "ok 4"}, {"sendto": ANNA}]},
    )
    body = r.json()
    assert body["error"] == 0 and body["sms_ids"][0] and body["sms_ids"][1] is None
    assert body["errors"][0]["index"] == 1 and "body" in body["errors"][0]["message"]


async def test_gettoken_and_smstosend_log_in_with_email_and_password(acct: Account) -> None:
    r = await acct.client.get(f"{BASE}/gettoken", params={"email": EMAIL, "pass": PASSWORD})
    token = r.json()["token"]
    assert r.json() == {"error": 0, "message": "OK", "token": token}
    r = await acct.client.post(
        f"{BASE}/addsms", data={"token": token, "sendto": ANNA, "body": "with a token"}
    )
    assert r.json()["error"] == 0
    keys_before = len(await acct.live.gateway.keys.list())
    ids = []
    for text in ("one", "two"):
        r = await acct.client.post(
            f"{BASE}/smstosend",
            data={"email": EMAIL, "pass": PASSWORD, "sendto": ANNA, "body": text,
                  "device_id": SIMULATOR},
        )  # fmt: skip
        body = r.json()
        assert body["error"] == 0 and body["message"] == "Sms has been saved successfully", body
        ids.append(body["sms_id"])
    # the second call reused the first login's token
    assert len(await acct.live.gateway.keys.list()) == keys_before + 1
    for sms_id in ids:
        r = await acct.client.get(f"{BASE}/getsmsstatus", params={"token": token, "sms_id": sms_id})
        assert r.json()["error"] == 0


# ------------------------------------------------------------------ end to end


async def test_simulator_delivers_an_addsms_and_getsmsstatus_shows_7(acct: Account) -> None:
    sent = await acct.ok("addsms", sendto=ANNA, body="Your code is 1234", device_id=SIMULATOR,
                         customerId=777)  # fmt: skip
    assert sent["message"] == "Sms has been saved successfully"

    async def delivered() -> bool:
        return await acct.status(sent["sms_id"]) == 7

    await wait_for(delivered)
    body = await acct.ok("getsmsstatus", get=True, sms_id=sent["sms_id"])
    assert body == {"error": 0, "sms_id": sent["sms_id"], "status": 7,
                    "status_description": "delivered", "message": "Ok"}  # fmt: skip
    listed = await acct.ok("getallsms", get=True, status=7)
    sms = listed["smss"][str(sent["sms_id"])]
    assert listed["sms"] == listed["smss"] and listed["count"] == 1
    assert sms["sendto"] == ANNA and sms["body"] == "Your code is 1234"
    assert sms["deviceid"] == SIMULATOR and sms["customerid"] == 777
    assert sms["statustitle"] == "delivered" and sms["senttime"]["timezone"] == "+00:00"
    assert sms["created"]["timezone_type"] == 1 and len(sms["created"]["date"]) == 26


async def test_an_sms_without_device_goes_the_routers_way(acct: Account) -> None:
    sent = await acct.ok("addsms", sendto=f"{ANNA},{BEN}", body="to both")
    assert len(sent["sms_ids"]) == 2 and sent["sms_id"] == sent["sms_ids"][0]

    async def delivered() -> bool:
        return all([await acct.status(i) == 7 for i in sent["sms_ids"]])

    await wait_for(delivered)
    listed = await acct.ok("getallsms", get=True, device_id=SIMULATOR)
    assert set(listed["smss"]) == {str(i) for i in sent["sms_ids"]}


async def test_inbound_sms_appear_with_status_5(acct: Account) -> None:
    r = await acct.client.post(
        "/api/v1/simulator/inbound", json={"from": BEN, "text": "Open on Sunday?"},
        headers={"Authorization": f"Bearer {acct.key}"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    inbound_id = int(r.json()["inbound_id"])
    await acct.ok("addsms", sendto=ANNA, body="out", device_id=SIMULATOR)
    listed = await acct.ok("getallsms", get=True, status=5)
    assert listed["count"] == 1
    sms = listed["smss"][str(inbound_id)]
    assert sms["status"] == 5 and sms["statustitle"] == "incoming"
    assert sms["sendto"] == BEN and sms["body"] == "Open on Sunday?"
    assert sms["deviceid"] == SIMULATOR
    assert await acct.status(inbound_id) == 5
    everything = await acct.ok("getallsms", get=True)
    assert everything["count"] == 2
    assert (await acct.ok("getallsms", get=True, phone=BEN))["count"] == 1


@pytest.fixture
async def phone(acct: Account) -> AsyncIterator[FakeDevice]:
    token = (await acct.live.gateway.device_accounts.ensure(acct.account_id)).private_token
    device = FakeDevice(
        state_retry_delay=0.05,
        webhook_retry_delay=0.05,
        default_outcome=Outcome("delivered", sent_after=0.6, delivered_after=0.3),
    )
    try:
        await device.register(f"{acct.live.base_url}/api/mobile/v1", token)
        await device.wait_connected()
        yield device
    finally:
        await device.close()


async def test_a_phone_takes_the_sms_then_sends_and_delivers_it(
    acct: Account, phone: FakeDevice
) -> None:
    assert phone.device_id is not None
    number = phone_number_id(phone.device_id)
    devices = await acct.ok("getalldevices", get=True)
    assert devices["count"] == 2 and set(devices["device"]) == {str(number), str(SIMULATOR)}
    mine = devices["device"][str(number)]
    assert mine["id"] == number and mine["serialnumber"] == phone.device_id
    assert mine["siminfo"][0]["Slot"] == "0" and mine["lastseen"]["timezone_type"] == 1
    state = await acct.ok("getdevicestatus", get=True, device_id=number)
    assert state["online"] is True and state["device_id"] == number
    assert state["diffseconds"] >= 0 and set(state["lastseen"]) == {
        "date", "timezone_type", "timezone"}  # fmt: skip

    sent = await acct.ok("addsms", sendto=ANNA, body="via the phone", device_id=number, sim=0)
    seen: list[int] = []

    async def reaches(code: int) -> bool:
        seen.append(await acct.status(sent["sms_id"]))
        return seen[-1] == code

    await wait_for(lambda: reaches(2), interval=0.02)
    await wait_for(lambda: reaches(7))
    rank = {1: 0, 3: 1, 2: 2, 6: 3, 7: 4}  # New, queued on the phone, taken, sent, delivered
    assert [rank[c] for c in seen] == sorted(rank[c] for c in seen), seen
    assert phone.sent[0].phone_number == ANNA
    listed = await acct.ok("getallsms", get=True, device_id=number, sim=0)
    sms = listed["smss"][str(sent["sms_id"])]
    assert sms["deviceid"] == number and sms["sim"] == 0 and sms["status"] == 7
    assert (await acct.ok("getallsms", get=True, device_id=SIMULATOR))["count"] == 0
    assert (await acct.ok("getallsms", get=True, sim=1))["count"] == 0
    # the phone's string id names it too
    assert (await acct.ok("getallsms", get=True, device_id=phone.device_id))["count"] == 1

    await phone.receive_sms(BEN, "A reply through the phone", sim=1)

    async def incoming() -> dict[str, Any]:
        body = await acct.ok("getallsms", get=True, status=5, device_id=number)
        return body if body["count"] else {}

    body = await wait_for(incoming)
    (reply,) = body["smss"].values()
    assert reply["sendto"] == BEN and reply["deviceid"] == number and reply["sim"] == 0


async def test_a_phone_failure_maps_to_its_status_code(acct: Account, phone: FakeDevice) -> None:
    assert phone.device_id is not None
    phone.set_outcome(BEN, Outcome("failed", reason="RESULT_ERROR_NO_SERVICE"))
    sent = await acct.ok("addsms", sendto=BEN, body="no luck",
                         device_id=phone_number_id(phone.device_id))  # fmt: skip

    async def failed() -> bool:
        return await acct.status(sent["sms_id"]) == 10

    await wait_for(failed)
    listed = await acct.ok("getallsms", get=True, status=10)
    assert listed["smss"][str(sent["sms_id"])]["statustitle"] == "no service"
    assert (await acct.ok("getallsms", get=True, status=8))["count"] == 0


async def test_tags_contacts_and_a_paket_send_to_the_tags_contacts(acct: Account) -> None:
    tag = (await acct.ok("savetag", title="Employees"))["tag_id"]
    assert (await acct.ok("savetag", title="Employees"))["tag_id"] == tag  # same title, same tag
    other = (await acct.ok("savetag", title="Others"))["tag_id"]
    first = await acct.ok("savecontact", phone=ANNA, fullname="Anna Smith", tag_id=tag)
    second = await acct.ok("savecontact", phone=BEN, fullname="Ben", ctag_id=tag)
    await acct.ok("savecontact", phone="+4917612345603", fullname="Carl", tag_id=other)
    assert first["contact_id"] != second["contact_id"]
    again = await acct.ok("savecontact", phone=ANNA, fullname="Anna S.", tag_id=tag)
    assert again["contact_id"] == first["contact_id"]  # one contact per number

    paket = await acct.ok("savepaket", title="News", device_id=SIMULATOR, body="Hi all",
                          tags=str(tag), sim=0, time_to_send=0)  # fmt: skip
    assert paket["paket_id"] == paket["paket"] and paket["message"] == "Ok"

    async def delivered() -> dict[str, Any]:
        body = await acct.ok("getallsms", get=True, status=7)
        return body if body["count"] == 2 else {}

    body = await wait_for(delivered)
    assert {s["sendto"] for s in body["smss"].values()} == {ANNA, BEN}
    for sms in body["smss"].values():
        assert sms["paketid"] == paket["paket_id"] and sms["pakettitle"] == "News"
        assert sms["paketbody"] == "Hi all" and sms["body"] == "Hi all"

    later = (datetime.now(UTC) + timedelta(days=2)).strftime("%d.%m.%Y %H:%M:%S")
    scheduled = await acct.ok("savepaket", title="Later", body="Soon", tags=f"{tag},{other}",
                              time_to_send=later)  # fmt: skip
    view = await acct.live.gateway.campaigns.get(
        await acct.live.gateway.keys.authenticate(acct.key), scheduled["paket_id"]
    )
    assert view.row["state"] == "scheduled" and view.row["send_at"] is not None


async def test_getallsms_filters(acct: Account) -> None:
    gw = acct.live.gateway
    first = await acct.ok("addsms", sendto=ANNA, body="a", customerid=1, device_id=SIMULATOR)
    await asyncio.sleep(0.02)
    second = await acct.ok("addsms", sendto=BEN, body="b", customerid=2, urgent=1)
    soon = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
    third = await acct.ok("addsms", sendto=BEN, body="c", timetosend=soon)

    async def settled() -> bool:
        return all([await acct.status(s["sms_id"]) == 7 for s in (first, second)])

    await wait_for(settled)
    ids = [s["sms_id"] for s in (first, second, third)]

    async def listed(**params: Any) -> list[int]:
        body = await acct.ok("getallsms", get=True, **params)
        assert body["count"] == len(body["smss"]), body
        return [int(k) for k in body["smss"]]

    assert await listed() == ids
    assert await listed(orderbydesc=1) == ids[::-1]
    assert await listed(status=1) == [ids[2]]
    assert await listed(status=7) == ids[:2]
    assert await listed(customerid=2) == [ids[1]]
    assert await listed(customerId=1) == [ids[0]]
    assert await listed(phone=BEN) == ids[1:]
    assert await listed(phone="004917612345602") == ids[1:]
    assert await listed(device_id=SIMULATOR) == ids
    assert await listed(sim=0) == []
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert await listed(begindate=today, enddate=today) == ids
    assert await listed(enddate="2020-01-01") == []
    assert await listed(begindate="2099-01-01 00:00:00") == []
    count = await acct.ok("getallsms", get=True, onlycount=1, status=7)
    assert count == {"error": 0, "count": 2, "message": "Ok"}
    # the time zone the caller asks for
    berlin = await acct.ok("getallsms", get=True, timezone="Europe/Berlin")
    created = berlin["smss"][str(ids[0])]["created"]
    assert created["timezone_type"] == 3 and created["timezone"] == "Europe/Berlin"
    offset = await acct.ok("getallsms", get=True, timezone="+05:30")
    created = offset["smss"][str(ids[0])]["created"]
    assert created["timezone_type"] == 1 and created["timezone"] == "+05:30"
    utc = (await acct.ok("getallsms", get=True))["smss"][str(ids[0])]["created"]["date"]
    shifted = datetime.strptime(utc, "%Y-%m-%d %H:%M:%S.%f") + timedelta(hours=5, minutes=30)
    assert created["date"] == shifted.strftime("%Y-%m-%d %H:%M:%S.%f")
    third_row = (await acct.ok("getallsms", get=True))["smss"][str(ids[2])]
    assert third_row["timetosend"]["date"].startswith(soon)
    assert (await acct.ok("getallsms", get=True))["smss"][str(ids[1])]["urgent"] == 1
    # the account's own time zone is the default
    await gw.accounts.update("acme", timezone="Asia/Tokyo")
    tokyo = await acct.ok("getallsms", get=True)
    assert tokyo["smss"][str(ids[0])]["created"]["timezone"] == "Asia/Tokyo"


# ------------------------------------------------------------------ errors

LONG = "x" * 101
# (method, parameters without the token unless given, smsbridge error code); every answer is
# HTTP 200 with {"error": 1, "message": ...}, as the hosted API answers.
ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("addsms", {"token": "", "sendto": ANNA, "body": "x"}, "missing_token"),
    ("addsms", {"token": "sb_nope", "sendto": ANNA, "body": "x"}, "invalid_api_key"),
    ("addsms", {"body": "x"}, "missing_recipient"),
    ("addsms", {"sendto": ANNA}, "text_empty"),
    ("addsms", {"sendto": ANNA, "body": "x", "device_id": 12345}, "device_not_found"),
    ("addsms", {"sendto": ANNA, "body": "x", "device_id": SIMULATOR, "sim": 9},
     "invalid_parameter"),
    ("addsms", {"sendto": "123", "body": "x"}, "invalid_number"),
    ("addsms", {"sendto": ANNA, "body": "x", "timetosend": "2099-01-01 12:00:00"},
     "send_at_too_far"),
    ("addsms", {"sendto": ANNA, "body": "x", "timetosend": "tomorrow"}, "invalid_date"),
    ("addsms", {"sendto": ANNA, "body": "x", "customerid": "9" * 65}, "invalid_parameter"),
    ("addsms", {"sendto": ANNA, "body": "x", "urgent": "maybe"}, "invalid_parameter"),
    ("smstosend", {"email": EMAIL, "pass": "wrong-password", "sendto": ANNA, "body": "x"},
     "invalid_login"),
    ("smstosend", {"sendto": ANNA, "body": "x"}, "missing_parameter"),
    ("gettoken", {"email": EMAIL, "pass": "wrong-password"}, "invalid_login"),
    ("gettoken", {"pass": PASSWORD}, "missing_parameter"),
    ("getsmsstatus", {}, "missing_parameter"),
    ("getsmsstatus", {"sms_id": "abc"}, "invalid_parameter"),
    ("getsmsstatus", {"sms_id": 62807347}, "sms_not_found"),
    ("getallsms", {"status": 4}, "invalid_status"),
    ("getallsms", {"timezone": "Mars/Olympus"}, "invalid_timezone"),
    ("getallsms", {"begindate": "01/02/2024"}, "invalid_date"),
    ("getallsms", {"device_id": 12345}, "device_not_found"),
    ("getallsms", {"sim": -1}, "invalid_parameter"),
    ("savetag", {}, "missing_parameter"),
    ("savetag", {"title": LONG}, "invalid_group_name"),
    ("savecontact", {"fullname": "No Phone", "tag_id": 1}, "missing_parameter"),
    ("savecontact", {"phone": "12", "fullname": "Bad"}, "invalid_number"),
    ("savecontact", {"phone": ANNA, "fullname": "A", "tag_id": 999999}, "group_not_found"),
    ("savecontact", {"phone": ANNA, "fullname": LONG + " " + LONG}, "field_too_long"),
    ("savepaket", {"body": "x", "tags": "1"}, "missing_parameter"),
    ("savepaket", {"title": "t", "body": "x"}, "missing_parameter"),
    ("savepaket", {"title": "t", "body": "x", "tags": "999999"}, "group_not_found"),
    ("savepaket", {"title": "t", "body": "x", "tags": "1", "device_id": 12345},
     "device_not_found"),
    ("savepaket", {"title": "t", "body": "x", "tags": "1", "time_to_send": "soon"},
     "invalid_date"),
    ("addalotofsms", {"datajson": "{nope"}, "invalid_json"),
    ("addalotofsms", {"datajson": "[1]"}, "invalid_json"),
    ("addalotofsms", {}, "missing_parameter"),
    ("addalotofsms",
     {"token": "", "datajson": json.dumps({"smsdata": [{"sendto": ANNA, "body": "x"}]})},
     "missing_token"),
    ("addalotofsms", {"smsdata": json.dumps([1, {"sendto": ANNA}])}, "invalid_item"),
    ("getdevicestatus", {}, "missing_parameter"),
    ("getdevicestatus", {"device_id": 12345}, "device_not_found"),
    ("getalldevices", {"token": "sb_nope"}, "invalid_api_key"),
]  # fmt: skip


async def test_every_error_is_http_200_with_error_1_and_a_message(acct: Account) -> None:
    tag = (await acct.ok("savetag", title="Empty"))["tag_id"]
    cases = [*ERRORS, ("savepaket", {"title": "t", "body": "x", "tags": tag}, "no_valid_recipient")]
    for name, params, code in cases:
        params = {"token": acct.key, **params}
        for r in (
            await acct.client.post(f"{BASE}/{name}", data=params),
            await acct.client.get(f"{BASE}/{name}", params=params),
        ):
            body = r.json()
            assert r.status_code == 200, (name, params, r.text)
            assert body["error"] == 1 and body["error_code"] == code, (name, params, body)
            assert isinstance(body["message"], str) and body["message"], body
    # a paket that could not start is not left behind
    caller = await acct.live.gateway.keys.authenticate(acct.key)
    assert await acct.live.gateway.campaigns.list(caller, None, None, 10) == []


async def test_scopes_unknown_methods_and_other_http_methods(acct: Account) -> None:
    reader = (await acct.live.gateway.keys.create(account="acme", scopes="messages:read")).key
    r = await acct.client.post(
        f"{BASE}/addsms", data={"token": reader, "sendto": ANNA, "body": "x"}
    )
    assert r.status_code == 200 and r.json()["error_code"] == "missing_scope"
    r = await acct.client.get(f"{BASE}/getallsms", params={"token": reader})
    assert r.json()["error"] == 0
    r = await acct.client.get(f"{BASE}/nosuchmethod", params={"token": acct.key})
    assert r.status_code == 200 and r.json()["error_code"] == "unknown_method"
    assert "addsms" in r.json()["message"]
    r = await acct.client.put(f"{BASE}/addsms", params={"token": acct.key})
    assert r.status_code == 200 and r.json()["error_code"] == "method_not_allowed"
    r = await acct.client.get(f"{BASE}/getallsms/", params={"token": acct.key})  # a stray slash
    assert r.json()["error"] == 0
    # a key in the Authorization header works as the token
    r = await acct.client.get(f"{BASE}/getallsms", headers={"Authorization": f"Bearer {acct.key}"})
    assert r.json()["error"] == 0


async def test_a_phones_missing_sim_slot_is_refused(acct: Account, phone: FakeDevice) -> None:
    assert phone.device_id is not None
    body = await acct.call(
        "addsms", sendto=ANNA, body="x", device_id=phone_number_id(phone.device_id), sim=3
    )
    assert body["error"] == 1 and body["error_code"] == "sim_not_found"


async def test_a_paket_for_a_phone_goes_out_from_that_phone_and_sim(
    acct: Account, phone: FakeDevice
) -> None:
    assert phone.device_id is not None
    await phone.refresh_sims(
        [*DEFAULT_SIMS, SimCard(1, "+15555550101", "Second", "8901260000000000027")]
    )
    tag = (await acct.ok("savetag", title="Phone people"))["tag_id"]
    await acct.ok("savecontact", phone=ANNA, fullname="Anna", tag_id=tag)
    await acct.ok("savecontact", phone=BEN, fullname="Ben", tag_id=tag)
    number = phone_number_id(phone.device_id)
    paket = await acct.ok("savepaket", title="By phone", body="From the SIM in slot 2",
                          tags=str(tag), device_id=number, sim=1)  # fmt: skip

    async def delivered() -> dict[str, Any]:
        body = await acct.ok("getallsms", get=True, status=7, device_id=number, sim=1)
        return body if body["count"] == 2 else {}

    body = await wait_for(delivered)
    assert all(s["paketid"] == paket["paket_id"] for s in body["smss"].values())
    assert sorted(s.phone_number for s in phone.sent) == sorted([ANNA, BEN])
    assert {s.slot_index for s in phone.sent} == {1}
    refused = await acct.call("savepaket", title="x", body="x", tags=str(tag),
                              device_id=number, sim=5)  # fmt: skip
    assert refused["error"] == 1 and refused["error_code"] == "sim_not_found"
