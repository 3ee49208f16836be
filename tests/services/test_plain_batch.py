"""The bulk path for plain messages builds exactly what the general path builds."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from smsbridge.config import Settings
from smsbridge.core.encoding import parse_languages
from smsbridge.core.errors import SmsBridgeError
from smsbridge.core.ids import IdGenerator
from smsbridge.core.message import Priority
from smsbridge.core.pricing import PriceList
from smsbridge.services.caller import Caller
from smsbridge.services.message_plan import SendRequest
from smsbridge.services.plain_batch import is_plain
from smsbridge.services.send import SendService
from smsbridge.store.messages import NewMessages

NUMBERS = [
    "+4917612345678", "+491761234567", "004917612345678", "4917612345678", "017612345678",
    " +49 176 1234-5678 ", "+4912", "+99912345678", "+3934712345678", "+39-347-1234567",
    "+905321234567", "05321234567", "436501234567", "", "   ", "+1 (415) 555-2671",
    "+44 7911 123456", "+491761234567890123",
]  # fmt: skip
TEXTS = [
    "Your code is 123456", "", "x" * 160, "x" * 161, "y" * 1530, "y" * 1531, "€" * 80,
    "Grüße aus Köln 😀", "😀" * 70, "Şişli'de güzel bir gün", "ğ" * 200, "[]{}~^\\|",
    "line\nbreak", "Olá, ação não", "z" * 153 * 10, "z" * (153 * 10 + 1),
]  # fmt: skip
SENDERS = [None, "MyShop", " MyShop ", "", "x", "+4917612345678", "12345678901234567", "Shop Ltd 1"]
PRICES = [
    PriceList(),
    PriceList(default=75_000, by_prefix={"49": 60_000, "49176": 55_000, "39": 80_000}),
    PriceList(default=0),
]

requests = st.builds(
    SendRequest,
    to=st.sampled_from(NUMBERS).map(lambda n: [n]),
    text=st.sampled_from(TEXTS),
    sender=st.sampled_from(SENDERS),
    label=st.sampled_from([None, "otp", "a" * 100]),
    foreign_id=st.sampled_from([None, "order-42"]),
)
callers = st.builds(
    Caller,
    account_id=st.just(7),
    key_id=st.just(None),
    default_region=st.sampled_from([None, "DE", "TR"]),
    default_sender=st.sampled_from([None, "Default", "bad sender!"]),
    national_languages=st.sampled_from(["", "turkish", "spanish,portuguese"]).map(parse_languages),
)


def _service(**overrides: Any) -> SendService:
    cfg = Settings(database_url="sqlite:///unused.db", **overrides)
    return SendService(cfg, IdGenerator(), None, None, None)  # type: ignore[arg-type]


def _masked(value: Any, ids: dict[int, int]) -> Any:
    """Ids replaced by their order of appearance (the two paths draw different ids)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 2**40:
        return ("id", ids.setdefault(value, len(ids)))
    if isinstance(value, tuple | list):
        return type(value)(_masked(v, ids) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _masked(getattr(value, f.name), ids) for f in dataclasses.fields(value)}
    return value


def _general(
    service: SendService, caller: Caller, req: SendRequest, now: int, prices: PriceList
) -> Any:
    try:
        message, rows = service.prepare(caller, dataclasses.replace(req), now, prices)
    except SmsBridgeError as exc:
        return ("error", exc.code, exc.message, exc.details)
    return message, rows


def _plain(
    service: SendService, caller: Caller, req: SendRequest, now: int, prices: PriceList
) -> Any:
    rows = NewMessages()
    try:
        message = service.plain_messages(caller, now, prices).prepare(req, rows)
    except SmsBridgeError as exc:
        return ("error", exc.code, exc.message, exc.details)
    return message, rows


CONCAT_REF = 7  # MESSAGE_COLUMNS index of the random concatenation reference


def _comparable(result: Any) -> Any:
    if result[0] == "error":
        return result
    message, rows = result
    ids: dict[int, int] = {}
    messages = [(*m[:CONCAT_REF], None, *m[CONCAT_REF + 1 :]) for m in rows.messages]
    return (
        _masked(message, ids),
        _masked(messages, ids),
        _masked(rows.recipients, ids),
        _masked(rows.charges, ids),
    )


@settings(max_examples=400, deadline=None)
@given(req=requests, caller=callers, prices=st.sampled_from(PRICES))
def test_plain_path_builds_what_prepare_builds(
    req: SendRequest, caller: Caller, prices: PriceList
) -> None:
    assert is_plain(req)
    service = _service()
    now = 1_790_000_000_000_000
    expected = _comparable(_general(service, caller, req, now, prices))
    assert _comparable(_plain(service, caller, req, now, prices)) == expected


@given(req=requests)
def test_plain_path_follows_the_settings(req: SendRequest) -> None:
    service = _service(
        default_sender="Gateway", default_ttl_seconds=600, max_parts=3, default_region="IT"
    )
    caller = Caller(account_id=7, key_id=None)
    now = 1_790_000_000_000_000
    expected = _comparable(_general(service, caller, req, now, PRICES[1]))
    assert _comparable(_plain(service, caller, req, now, PRICES[1])) == expected


def test_only_plain_requests_take_the_bulk_path() -> None:
    plain = SendRequest(["+4917612345678"], "Hi", "MyShop", label="x", foreign_id="y")
    assert is_plain(plain)
    for change in [
        {"to": ["+4917612345678", "+4917612345679"]},
        {"to": ["+4917612345678,+4917612345679"]},
        {"to": ["group:customers"]},
        {"to": ["Anna"]},
        {"text": "Hi {{firstname}}"},
        {"priority": Priority.HIGH},
        {"test": True},
        {"flash": True},
        {"ttl": 60},
        {"encoding": "ucs2"},
        {"no_reload": True},
        {"transactional": True},
        {"draft": True},
        {"channel": "simulator"},
        {"device_id": "abc"},
        {"sim": 1},
        {"callback_url": "https://example.com/cb"},
        {"udh": "050003010201"},
        {"door_data": {"priority": 1.5}},
        {"verbatim_numbers": True},
        {"ext_id": "x"},
    ]:
        assert not is_plain(dataclasses.replace(plain, **change)), change
