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
from smsbridge.testing.fake_device import FakeDevice, Outcome
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
    credentials, its device 12345, its tags 1009/1010, its SMS 62807347, and a send time more
    than the year ahead smsbridge schedules (2030). Everything else is sent as recorded."""

    def __init__(self, acct: Account, token: str, tags: list[int]) -> None:
        soon = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")
        self.values = {
            "<redacted>": token,
            "12345": str(SIMULATOR),
            "1009": str(tags[0]),
            "1009,1010": f"{tags[0]},{tags[1]}",
            "2030-01-01 12:00:00": soon,
        }
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

    def pairs(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
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
    query = subs.pairs([(k, v) for k, values in entry["query"].items() for v in values])
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
        files = [(k, (None, v)) for k, v in subs.pairs(fields)]
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
