"""Routes of the messaggisms API under ``/messaggisms`` (openapi.it "Gateway SMS" v1).

Software written for ``https://ws.messaggisms.com`` works by pointing its base URL at
``http://HOST:PORT/messaggisms``. Every path answers with and without a trailing slash (the
OpenApi-PHP client writes ``/messages/`` for POST and ``/messages/{id}`` for PUT and GET).

Tokens are smsbridge API keys sent as ``Authorization: Bearer KEY``; the key's scopes and
expiry apply: GET needs ``messages:read``, POST and PUT ``messages:send``, DELETE
``messages:cancel``. Every reply is ``{data, success, message, credit, error}`` with the
account's credits in ``credit``. A transaction (``transaction: true``) is a smsbridge draft: it
collects recipients over PUT calls and is priced and queued when a PUT says
``transaction: false``.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from smsbridge.api.deps import api_key_from, authenticate_key
from smsbridge.compat.messaggisms import formats
from smsbridge.compat.messaggisms.errors import MessaggismsRoute, error
from smsbridge.compat.params import Params, read_params
from smsbridge.core import scopes
from smsbridge.core.errors import Conflict, NotFound, ValidationFailed
from smsbridge.core.message import Priority
from smsbridge.core.numbers import InvalidNumber, normalize
from smsbridge.core.pricing import credits
from smsbridge.gateway import Gateway
from smsbridge.services.addressing import Target
from smsbridge.services.caller import Caller
from smsbridge.services.message_plan import SendRequest
from smsbridge.store.messages import MessageFilter, MessageRecord

PREFIX = "/messaggisms"
FORMAT = "messaggisms"  # the callback_format of messages sent with options.callback_url
router = APIRouter(
    prefix=PREFIX,
    tags=["messaggisms compatible API"],
    include_in_schema=True,
    route_class=MessaggismsRoute,
)

_SCOPES = {
    "GET": scopes.MESSAGES_READ,
    "POST": scopes.MESSAGES_SEND,
    "PUT": scopes.MESSAGES_SEND,
    "DELETE": scopes.MESSAGES_CANCEL,
}
_ALPHA_SENDER = re.compile(r"[A-Za-z0-9 .\-_&]{3,11}")
_NUMERIC_SENDER = re.compile(r"\+?[0-9]{3,14}")
_KNOWN_PATH = re.compile(r"/messages(/[^/]+(/recipients(/[^/]+)?)?)?/?")
MAX_PRIORITY = 100.0
LIST_LIMIT = 100
Handler = TypeVar("Handler", bound=Callable[..., Any])


# -- plumbing ------------------------------------------------------------------------------


def _gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


async def _caller(request: Request) -> Caller:
    key = api_key_from(request.headers)
    return await authenticate_key(request, key, _SCOPES.get(request.method, scopes.ADMIN))


async def _reply(
    gw: Gateway,
    caller: Caller,
    data: Any,
    message: str,
    *,
    status: int = 200,
    numeric_credit: bool = False,
) -> Response:
    balance, _prepaid = await gw.billing.balance(caller.account_id)
    credit: float | str = credits(balance)
    body = {
        "data": data,
        "success": True,
        "message": message,
        "credit": credit if numeric_credit else str(credit),
        "error": None,
    }
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _results(count: int) -> str:
    return f"{count} Result" if count == 1 else f"{count} Results"


def _message_id(raw: str) -> int:
    value = formats.parse_id(raw.strip())
    if value is None:
        raise NotFound(
            f"Message {raw!r} not found; message ids are 24 hexadecimal digits as POST "
            "/messages/ returned them.",
            code="message_not_found",
        )
    return value


async def _record(gw: Gateway, caller: Caller, message_id: int) -> MessageRecord:
    try:
        return await gw.messages.get(caller, message_id)
    except NotFound:
        raise NotFound(
            f"Message {formats.hex_id(message_id)} not found in this account.",
            code="message_not_found",
        ) from None


async def _surcharge(gw: Gateway, caller: Caller) -> int:
    return (await gw.billing.billing(caller.account_id)).prices.high_surcharge


def _route(path: str, methods: list[str], **kwargs: Any) -> Callable[[Handler], Handler]:
    """Register a handler at ``path`` and at ``path`` with a trailing slash."""

    def register(endpoint: Handler) -> Handler:
        bare = path.rstrip("/")
        router.add_api_route(bare, endpoint, methods=methods, **kwargs)
        router.add_api_route(bare + "/", endpoint, methods=methods, include_in_schema=False)
        return endpoint

    return register


# -- reading the request -------------------------------------------------------------------


def _options(params: Params) -> dict[str, Any]:
    value = params.nested("options")
    if value is None or value == "" or value == []:
        return {}
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            value = None
    if not isinstance(value, dict):
        raise ValidationFailed("`options` must be an object.", code="invalid_options")
    return value


def _option(params: Params, options: dict[str, Any], name: str) -> Any:
    """An option from ``options`` or, as the OpenApi-PHP client sends some, top level."""
    if name in options:
        return options[name]
    return params.nested(name) if name in params else None


def _flag(value: Any, name: str) -> bool:
    return Params({name: value}).flag(name)


def _timestamp(value: Any) -> datetime | None:
    """``timestamp_send``: unix milliseconds (text or number; seconds are accepted too)."""
    if value is None or value == "" or value == 0 or value == "0":
        return None
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if numeric or (isinstance(value, str) and re.fullmatch(r"\s*\d{1,16}(\.\d+)?\s*", value)):
        number: float | None = float(value)
    else:
        number = None
    if number is None or not math.isfinite(number):
        raise ValidationFailed(
            f"`timestamp_send` must be a unix time in milliseconds, not {value!r}.",
            code="invalid_timestamp_send",
        )
    seconds = number / 1000 if number >= 100_000_000_000 else number
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValidationFailed(
            f"`timestamp_send` {value!r} is out of range.", code="invalid_timestamp_send"
        ) from None


def _priority(value: Any) -> float:
    if value is None or value == "":
        return 1.0
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or not 1.0 <= number <= MAX_PRIORITY:
        raise ValidationFailed(
            f"`priority` must be a number from 1.00 (the default) to {MAX_PRIORITY:.0f}, "
            f"not {value!r}.",
            code="invalid_priority",
        )
    return number


def _sender(value: str | None) -> str:
    if value is None or not value.strip():
        raise ValidationFailed("`sender` is required.", code="missing_sender")
    sender = value.strip()
    if _NUMERIC_SENDER.fullmatch(sender) or (
        _ALPHA_SENDER.fullmatch(sender) and any(c.isalpha() for c in sender)
    ):
        return sender
    raise ValidationFailed(
        f"Invalid sender {value!r}: 3 to 11 characters when alphanumeric, 3 to 14 digits "
        "when numeric.",
        code="invalid_sender",
    )


def _fields(value: Any) -> dict[str, str | None] | None:
    if value is None or value == [] or value == "":
        return None
    if not isinstance(value, dict):
        raise ValidationFailed(
            'A recipient\'s `fields` must be an object such as {"name": "Mario"}.',
            code="invalid_fields",
        )
    out: dict[str, str | None] = {}
    for key, item in value.items():
        if item is None or isinstance(item, str):
            out[str(key)] = item
        elif isinstance(item, bool):
            out[str(key)] = "1" if item else "0"
        elif isinstance(item, int | float):
            out[str(key)] = str(item)
        else:
            out[str(key)] = orjson.dumps(item).decode()
    return out


def _recipients(value: Any) -> tuple[list[Target], list[str]]:
    """Recipients as a string (commas allowed), an array of strings and ``{number, fields}``
    objects, or one such object. A number must be international (``+39-3471234567``); any
    other form is listed as invalid, as the real API does, and not sent."""
    if value is None or value == "" or value == []:
        raise ValidationFailed(
            "`recipients` is required: a number such as +39-3471234567, an array of them, or "
            '{"number": ..., "fields": {...}} objects.',
            code="missing_recipient",
        )
    items: list[Any]
    if isinstance(value, str):
        items = [part for part in value.split(",")]
    elif isinstance(value, dict):
        items = [value]
    elif isinstance(value, list):
        items = value
    else:
        items = [value]
    targets: list[Target] = []
    invalid: list[str] = []
    for item in items:
        fields = None
        number: Any = item
        if isinstance(item, dict):
            number = item.get("number")
            fields = _fields(item.get("fields"))
        if isinstance(number, int) and not isinstance(number, bool):
            number = str(number)
        if not isinstance(number, str):
            invalid.append(orjson.dumps(number).decode() if number is not None else "")
            continue
        text = number.strip()
        if not text:
            continue
        if not text.startswith("+"):
            invalid.append(text)
            continue
        targets.append(Target(text, fields))
    if not targets and not invalid:
        raise ValidationFailed("`recipients` holds no number.", code="missing_recipient")
    return targets, invalid


def _fields_by_number(targets: list[Target]) -> dict[str, dict[str, str | None]]:
    """Each recipient's fields by E.164 number, kept so that GET shows them again."""
    out: dict[str, dict[str, str | None]] = {}
    for target in targets:
        if target.fields:
            with contextlib.suppress(InvalidNumber):
                out[normalize(target.to)] = dict(target.fields)
    return out


def _no_valid(invalid: list[str]) -> ValidationFailed:
    return ValidationFailed(
        f"No valid recipient: {', '.join(invalid[:5])}"
        f"{' ...' if len(invalid) > 5 else ''}; write numbers as +<country code>-<number>, "
        "e.g. +39-3471234567.",
        code="no_valid_recipient",
    )


# -- routes --------------------------------------------------------------------------------


@_route("/messages", ["GET"], summary="List the account's messages, newest first")
async def list_messages(request: Request) -> Response:
    gw = _gateway(request)
    caller = await _caller(request)
    params = await read_params(request)
    limit = params.integer("limit", low=1, high=500) or LIST_LIMIT
    before = params.text("before")
    flt = MessageFilter(before_id=_message_id(before) if before else None)
    page = await gw.messages.list(caller, flt, limit)
    data = [formats.listed_message(row, rcpts) for row, rcpts in page.items]
    return await _reply(gw, caller, data, _results(len(data)))


@_route("/messages", ["POST"], summary="Send a message (or open a transaction)")
async def send_message(request: Request) -> Response:
    gw = _gateway(request)
    caller = await _caller(request)
    params = await read_params(request)
    options = _options(params)
    sender = _sender(params.text("sender"))
    body = params.text("body")
    if body is None or not body.strip():
        raise ValidationFailed("`body`, the text of the SMS, is required.", code="missing_text")
    targets, invalid = _recipients(params.nested("recipients"))
    if not targets:
        raise _no_valid(invalid)
    priority = _priority(params.get("priority"))
    transaction = _option(params, options, "transaction")
    flash = _option(params, options, "flash")
    callback = _option(params, options, "callback_url")
    if callback is not None and not isinstance(callback, str):
        raise ValidationFailed("`callback_url` must be a URL.", code="invalid_callback_url")
    callback_url = callback.strip() if callback and callback.strip() else None
    req = SendRequest(
        to=list(targets),
        text=body,
        sender=sender,
        send_at=_timestamp(_option(params, options, "timestamp_send")),
        priority=Priority.HIGH if priority > 1.0 else Priority.NORMAL,
        test=params.flag("test"),
        flash=_flag(flash, "flash") if flash is not None else False,
        draft=_flag(transaction, "transaction") if transaction is not None else False,
        missing_fields="empty",
        callback_url=callback_url,
        callback_format=FORMAT if callback_url else None,
        door_data={"priority": priority, "fields": _fields_by_number(targets)},
    )
    accepted = await gw.send.send(caller, req)
    record = await _record(gw, caller, accepted.id)
    data = formats.message_object(
        record, high_surcharge=await _surcharge(gw, caller), invalid=invalid, priority=priority
    )
    message = "Transaction Opened" if req.draft else "Message Queued"
    return await _reply(gw, caller, [data], message)


@_route("/messages/{message_id}", ["GET"], summary="One message with its statistics")
async def get_message(message_id: str, request: Request) -> Response:
    gw = _gateway(request)
    caller = await _caller(request)
    record = await _record(gw, caller, _message_id(message_id))
    data = formats.message_object(record, high_surcharge=await _surcharge(gw, caller))
    return await _reply(gw, caller, [data], _results(1))


@_route(
    "/messages/{message_id}",
    ["PUT"],
    summary="Add recipients to a transaction, close it, or change timestamp_send",
)
async def update_message(message_id: str, request: Request) -> Response:
    gw = _gateway(request)
    caller = await _caller(request)
    mid = _message_id(message_id)
    params = await read_params(request)
    options = _options(params)
    record = await _record(gw, caller, mid)
    raw_recipients = params.nested("recipients")
    transaction = _option(params, options, "transaction")
    has_time = "timestamp_send" in options or "timestamp_send" in params
    if raw_recipients in (None, "", []) and transaction is None and not has_time:
        raise ValidationFailed(
            "Nothing to update: give `recipients`, `transaction` or `options.timestamp_send`.",
            code="nothing_to_update",
        )
    draft = bool(record.message["draft"])
    if raw_recipients not in (None, "", []):
        if not draft:
            raise Conflict(
                "The message is not an open transaction: recipients can only be added to a "
                "message sent with transaction true, before a PUT with transaction false.",
                code="not_a_draft",
            )
        targets, invalid = _recipients(raw_recipients)
        if not targets:
            raise _no_valid(invalid)
        await gw.drafts.add_recipients(caller, mid, targets)
        fields = _fields_by_number(targets)
        if fields:
            await gw.messages.keep_door_data(caller, mid, {"fields": fields})
    if has_time:
        await gw.drafts.reschedule(caller, mid, _timestamp(_option(params, options,
                                                                   "timestamp_send")))  # fmt: skip
    if transaction is not None and not _flag(transaction, "transaction") and draft:
        await gw.drafts.close(caller, mid)
    record = await _record(gw, caller, mid)
    data = formats.message_object(record, high_surcharge=await _surcharge(gw, caller))
    return await _reply(gw, caller, data, "Updated")


@_route("/messages/{message_id}", ["DELETE"], summary="Cancel a message that has not left")
async def delete_message(message_id: str, request: Request) -> Response:
    gw = _gateway(request)
    caller = await _caller(request)
    mid = _message_id(message_id)
    await _record(gw, caller, mid)
    # messaggisms never gives the credits of a cancelled message back.
    await gw.messages.cancel(caller, mid, refund=False)
    return await _reply(gw, caller, [], f"{formats.hex_id(mid)} Deleted")


@_route("/messages/{message_id}/recipients", ["GET"], summary="The recipients of a message")
async def list_recipients(message_id: str, request: Request) -> Response:
    gw = _gateway(request)
    caller = await _caller(request)
    record = await _record(gw, caller, _message_id(message_id))
    data = [formats.recipient_object(record, r) for r in record.recipients]
    return await _reply(gw, caller, data, _results(len(data)), numeric_credit=True)


@_route(
    "/messages/{message_id}/recipients/{number}",
    ["GET"],
    summary="One recipient of a message, by number (+39-3471234567)",
)
async def get_recipient(message_id: str, number: str, request: Request) -> Response:
    gw = _gateway(request)
    caller = await _caller(request)
    record = await _record(gw, caller, _message_id(message_id))
    raw = number.strip()
    if number[:1] == " " and raw[:1].isdigit():
        raw = "+" + raw  # a '+' that became a space on the way
    wanted = {raw}
    with contextlib.suppress(InvalidNumber):
        wanted.add(normalize(raw, caller.default_region or gw.settings.default_region))
    data = [formats.recipient_object(record, r) for r in record.recipients
            if r["to_number"] in wanted]  # fmt: skip
    if not data:
        raise NotFound(f"The message has no recipient {number!r}.", code="recipient_not_found")
    return await _reply(gw, caller, data, _results(len(data)), numeric_credit=True)


@router.api_route(
    "/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    include_in_schema=False,
)
async def unknown(rest: str, request: Request) -> Response:
    if _KNOWN_PATH.fullmatch("/" + rest):
        return error(405, f"Method {request.method} is not allowed on /{rest}.")
    return error(404, f"Not found: /{rest}; the API serves /messages/.")
