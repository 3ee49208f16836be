"""The Smstools API (smsgatewayapi.com) under ``/smsgatewayapi``: the real PyPI SDK
``smstools-api-client`` (run in .venv-sdk: it needs pydantic 1) against a live server, the
recorded SDK requests replayed, every route and its errors, and a message followed from send
to delivery, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sys
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


@pytest.mark.parametrize(
    "record", _captures(), ids=lambda r: f"{r['method']} {r['path']}"
)
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
