"""No input makes the native API answer 500: random JSON, random field values, random bytes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Live

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["to", "text", "from", "send_at", "priority", "ttl", "test", "foreign_id", "label",
          "flash", "encoding"]  # fmt: skip
field_values = st.one_of(
    json_values,
    st.sampled_from(["", "+", "0", "00", "+4917612345678", "ж" * 700, "x" * 2000, "2026-13-45",
                     "high", "gsm7", "ucs2", "\x00", "\ud7ff", "😀" * 40, "1e400"]),
)  # fmt: skip
messages = st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=len(FIELDS))

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check(r: httpx.Response) -> None:
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.json()["error"]["code"]


@pytest.fixture
async def live(live_factory: Any, tmp_path: Path, sqlite_template: Path) -> Live:
    """The fuzzing exercises the API, not the database: one run on SQLite is enough."""
    path = tmp_path / "fuzz.db"
    shutil.copy(sqlite_template, path)
    result: Live = await live_factory(f"sqlite:///{path}")
    return result


class TestFuzz:
    @FUZZ
    @given(body=messages)
    async def test_send(self, live: Live, body: dict[str, Any]) -> None:
        _check(await live.client.post("/api/v1/messages", json=body, headers=live.headers))

    @FUZZ
    @given(items=st.lists(messages | json_values, max_size=5))
    async def test_batch(self, live: Live, items: list[Any]) -> None:
        r = await live.client.post("/api/v1/messages/batch", json={"messages": items},
                                   headers=live.headers)  # fmt: skip
        _check(r)
        if r.status_code == 202:
            body = r.json()
            assert len(body["messages"]) + len(body["errors"]) == len(items)

    @FUZZ
    @given(body=json_values)
    async def test_any_json(self, live: Live, body: Any) -> None:
        for path in ("/api/v1/messages", "/api/v1/messages/batch"):
            _check(await live.client.post(path, content=json.dumps(body), headers=live.headers))

    @FUZZ
    @given(raw=st.binary(max_size=200))
    async def test_any_bytes(self, live: Live, raw: bytes) -> None:
        headers = {**live.headers, "content-type": "application/json"}
        _check(await live.client.post("/api/v1/messages", content=raw, headers=headers))

    @FUZZ
    @given(params=st.dictionaries(
        st.sampled_from(["status", "to", "label", "foreign_id", "since", "until", "cursor",
                         "limit"]),
        st.text(max_size=30), max_size=4))  # fmt: skip
    async def test_list(self, live: Live, params: dict[str, str]) -> None:
        _check(await live.client.get("/api/v1/messages", params=params, headers=live.headers))

    @FUZZ
    @given(ident=st.text(max_size=40))
    async def test_get_and_cancel(self, live: Live, ident: str) -> None:
        from urllib.parse import quote

        path = "/api/v1/messages/" + quote(ident, safe="")
        _check(await live.client.get(path, headers=live.headers))
        _check(await live.client.delete(path, headers=live.headers))
