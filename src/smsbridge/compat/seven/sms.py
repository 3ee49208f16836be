"""``/sms``: sending (``POST``/``GET``) and deleting scheduled messages (``DELETE``).

Each recipient of a send is one seven.io message: its id (the ``msg_id`` of ``/status``,
``DELETE /sms`` and the ``dlr`` hooks) is smsbridge's recipient id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from starlette.responses import Response

from smsbridge.api.deps import GatewayDep
from smsbridge.api.public import base_url
from smsbridge.compat.params import Params
from smsbridge.compat.seven import codes
from smsbridge.compat.seven.auth import caller
from smsbridge.compat.seven.errors import SevenError
from smsbridge.compat.seven.replies import (
    json_reply,
    money,
    params_of,
    text_reply,
    wants_json,
)
from smsbridge.compat.seven.routes import router
from smsbridge.core import scopes
from smsbridge.core.message import Priority, Status
from smsbridge.services.caller import Caller
from smsbridge.services.links import FileUpload
from smsbridge.services.message_plan import AcceptedMessage, SendRequest

MAX_TEXT = 1520
_TAG = re.compile(r"[A-Za-z0-9.\-_@]{1,100}")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")
_DIGITS = re.compile(r"\d{9,13}")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")
_DETAIL_ENCODING = {"gsm7": "GSM0338", "ucs2": "UCS2", "binary": "8BIT"}
_ENCODING = {"gsm7": "gsm", "ucs2": "ucs2", "binary": "binary"}


@dataclass(slots=True)
class SmsCall:
    """One ``/sms`` request as the core sees it, plus what only the reply needs."""

    request: SendRequest
    details: bool
    return_msg_id: bool
    tracking: bool
    files: list[FileUpload]


def parse_delay(raw: str, zone: str) -> datetime:
    """seven's ``delay``: unix seconds, unix milliseconds (the JS client sends
    ``Date.valueOf()``), or ``yyyy-mm-dd hh:ii[:ss]`` in the account's time zone."""
    value = raw.strip()
    if _DIGITS.fullmatch(value):
        number = int(value)
        seconds = number / 1000 if number >= 10**12 else number
        return datetime.fromtimestamp(seconds, UTC)
    match = _DATE.fullmatch(value)
    if match is not None:
        year, month, day, hour, minute, second = (int(g or 0) for g in match.groups())
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone))
        except ValueError:
            pass
    raise SevenError(
        codes.UNKNOWN_ERROR,
        f"`delay` {raw!r} is neither a unix timestamp nor a date like 2030-01-01 12:00.",
    )


def _tag(params: Params, name: str, limit: int) -> str | None:
    value = params.text(name)
    if value is None or value == "":
        return None
    if len(value) > limit or not _TAG.fullmatch(value):
        raise SevenError(
            codes.UNKNOWN_ERROR,
            f"`{name}` allows at most {limit} characters of a-z, A-Z, 0-9 and .-_@.",
        )
    return value


def _recipients(params: Params) -> list[str]:
    raw = params.get("to")
    items = raw if isinstance(raw, list) else [raw] if raw is not None else []
    out: list[str] = []
    for item in items:
        if not isinstance(item, str | int):
            raise SevenError(codes.MISSING_TO, "`to` is a number, a name, or a list of them.")
        out.extend(p.strip() for p in str(item).split(",") if p.strip())
    if not out:
        raise SevenError(codes.MISSING_TO, "Set `to` to one or more numbers, groups or names.")
    return out


def _files(params: Params) -> list[FileUpload]:
    raw = params.nested("files")
    if raw is None or raw == "":
        return []
    items = raw if isinstance(raw, list) else list(raw.values()) if isinstance(raw, dict) else []
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("contents"), str):
            raise SevenError(codes.UNKNOWN_ERROR, "Each file needs `name` and base64 `contents`.")
        validity = item.get("validity")
        try:
            days = int(validity) if validity not in (None, "") else None
        except (TypeError, ValueError):
            raise SevenError(codes.UNKNOWN_ERROR, "`validity` is a number of days.") from None
        out.append(
            FileUpload(str(item.get("name") or ""), item["contents"], days,
                       str(item["password"]) if item.get("password") else None)
        )  # fmt: skip
    return out


def parse_sms(params: Params, timezone: str) -> SmsCall:
    to = _recipients(params)
    text = params.text("text")
    if text is None or text == "":
        raise SevenError(codes.MISSING_TEXT, "Set `text` to the message.")
    if len(text) > MAX_TEXT:
        raise SevenError(codes.TEXT_TOO_LONG, f"`text` has at most {MAX_TEXT} characters.")
    udh = params.text("udh") or None
    if udh is not None and not _HEX.fullmatch(text):
        # The seed: with `udh` and hex in `text` the SMS goes out as 8-bit binary.
        raise SevenError(
            codes.MISSING_TEXT,
            "With `udh` the SMS is binary: give its data in `text` as hex octets (e.g. 0A1B2C).",
        )
    ttl_minutes = params.integer("ttl", low=1, high=60 * 24 * 366)
    delay = params.text("delay")
    encoding = "binary" if udh else "ucs2" if params.flag("unicode") else "auto"
    request = SendRequest(
        to=list(to),
        text=text,
        sender=params.text("from") or None,
        send_at=parse_delay(delay, timezone) if delay else None,
        priority=Priority.NORMAL,
        ttl=ttl_minutes * 60 if ttl_minutes is not None else 2880 * 60,
        test=params.flag("debug"),
        foreign_id=_tag(params, "foreign_id", 64),
        label=_tag(params, "label", 100),
        flash=params.flag("flash"),
        encoding=encoding,
        no_reload=params.flag("no_reload"),
        udh=udh,
    )
    return SmsCall(
        request,
        details=params.flag("details"),
        return_msg_id=params.flag("return_msg_id"),
        tracking=params.flag("performance_tracking"),
        files=_files(params),
    )


def message_json(message: AcceptedMessage, udh: str | None = None) -> list[dict[str, Any]]:
    out = []
    binary = message.encoding == "binary"
    for r in message.recipients:
        ok = r.status != Status.REJECTED.value
        out.append({
            "id": str(r.id), "sender": message.sender or "", "recipient": r.to.lstrip("+"),
            "text": r.text or message.text, "encoding": _ENCODING.get(r.encoding or
                                                                      message.encoding, "gsm"),
            "label": message.label, "parts": r.parts or message.parts, "udh": udh,
            "is_binary": binary, "price": money(r.price), "success": ok,
            "error": None if ok else str(codes.for_error(r.error_code or "")),
            "error_text": None if ok else r.error_message,
        })  # fmt: skip
    return out


def _code(message: AcceptedMessage) -> int:
    rejected = sum(r.status == Status.REJECTED.value for r in message.recipients)
    return codes.PARTLY_FAILED if rejected else codes.OK


def _details(message: AcceptedMessage, code: int, balance: float) -> str:
    lines = [
        str(code),
        *(str(r.id) for r in message.recipients if r.status != Status.REJECTED.value),
        f"Verbucht: {money(message.price) if not message.test else 0}",
        f"Preis: {money(message.price)}",
        f"Guthaben: {balance}",
        f"Text: {message.text}",
        "SMS-Typ: direct",
        f"Flash SMS: {'on' if message.flash else 'off'}",
        f"Encoding: {_DETAIL_ENCODING.get(message.encoding, 'UCS2')}",
        f"GSM0338: {'true' if message.encoding == 'gsm7' else 'false'}",
        f"Debug: {'true' if message.test else 'false'}",
    ]
    return "\n".join(lines)


async def send_sms(request: Request, gw: GatewayDep, params: Params, who: Caller) -> Response:
    billing = await gw.billing.billing(who.account_id)
    call = parse_sms(params, billing.timezone)
    req = call.request
    link = base_url(request)
    if call.files:
        req.text = await gw.links.attach_files(who.account_id, req.text, call.files, link)
    codes_: list[str] = []
    if call.tracking:
        req.text, codes_ = await gw.links.track(who.account_id, req.text, link, req.label)
    message = await gw.send.send(who, req)
    await gw.links.attach(codes_, message.id)
    balance = message.balance
    if balance is None:
        balance = (await gw.billing.balance(who.account_id))[0]
    code = _code(message)
    if wants_json(request, params):
        return json_reply({
            "success": str(code), "total_price": money(message.price),
            "balance": money(balance), "debug": "true" if message.test else "false",
            "sms_type": "direct", "messages": message_json(message, req.udh),
        })  # fmt: skip
    if call.details:
        return text_reply(_details(message, code, money(balance)))
    if call.return_msg_id:
        ids = [str(r.id) for r in message.recipients if r.status != Status.REJECTED.value]
        return text_reply("\n".join([str(code), *ids]))
    return text_reply(str(code))


@router.post("/sms", summary="Send SMS (seven.io)")
@router.get("/sms", include_in_schema=False)
async def sms(request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    who = await caller(request, params, scopes.MESSAGES_SEND)
    return await send_sms(request, gw, params, who)


def message_ids(params: Params, name: str) -> list[int]:
    """Ids given as ``a,b``, a JSON list, or ``ids[0]=a&ids[1]=b``; unknown forms are 901."""
    raw = params.nested(name)
    items = raw if isinstance(raw, list) else [raw] if raw not in (None, "") else []
    out: list[int] = []
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if part:
                if not part.isdigit() or len(part) > 19:
                    raise SevenError(codes.INVALID_ID_OR_SIGNATURE, f"{part!r} is no message id.")
                out.append(int(part))
    return out


@router.delete("/sms", summary="Delete scheduled SMS (seven.io)")
async def delete_sms(request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    who = await caller(request, params, scopes.MESSAGES_CANCEL)
    ids = message_ids(params, "ids")
    if not ids:
        raise SevenError(codes.INVALID_ID_OR_SIGNATURE, "Give the `ids` of the SMS to delete.")
    deleted = await gw.messages.cancel_recipients(who, ids)
    return json_reply({"success": bool(deleted), "deleted": [str(i) for i in deleted] or None})
