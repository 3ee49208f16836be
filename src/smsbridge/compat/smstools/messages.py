"""Sending and reading messages, credits: ``/v1/message/send``, ``/v1/message/inbox``,
``/v1/outbox``, ``/v1/message/logging``, ``/v1/webhook/{id}``, ``/v1/balance``, ``/v1/account``.

A send to one number answers ``{"messageid": "<id>"}`` (the form the SDK reads); ``to`` as an
array (or a comma-separated list), or a body that is an array of message objects, answers
``{"messageids": [...]}``: every number becomes a message of its own (its own id, cancelled and
looked up on its own), accepted in one transaction, and numbers that are refused are listed in
``errors`` while the others go out. ``type: "group"`` makes ``to`` a group id: one message to
the group's members. ``date`` (``yyyy-MM-dd HH:mm``, the account's time zone) schedules it: it
waits in ``/v1/outbox`` until then, and ``DELETE /v1/outbox/{id}`` cancels it. ``reference``
is kept as the message's foreign id (up to 64 characters); ``subid`` (smsbridge has no
subaccounts) as its label. ``test`` validates and stores without sending. The same text to the
same number within the account's reload window is refused (409) unless ``no_reload`` is true.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from starlette.responses import Response

from smsbridge.compat.params import Params, read_params
from smsbridge.compat.smstools import formats
from smsbridge.compat.smstools.auth import caller as authenticate
from smsbridge.compat.smstools.common import gateway, make_router, path_id, reply
from smsbridge.compat.smstools.errors import item_error
from smsbridge.compat.smstools.webhook import render
from smsbridge.core import scopes
from smsbridge.core.errors import NotFound, SmsBridgeError, ValidationFailed
from smsbridge.core.pricing import credits
from smsbridge.core.reasons import reason_for
from smsbridge.core.timefmt import iso
from smsbridge.gateway import Gateway
from smsbridge.services.caller import Caller
from smsbridge.services.message_plan import SendRequest
from smsbridge.store import accounts as account_store
from smsbridge.store import offset_pages
from smsbridge.store.inbound import InboundFilter
from smsbridge.store.messages import MessageFilter

router = make_router()
MAX_REFERENCE = 64  # the column that keeps it (Smstools allows up to 255)
MAX_MESSAGES = 10_000
_SPLIT = re.compile(r"[,;]")
_EVENT_OF = {
    "sent": "message.sent",
    "delivered": "message.delivered",
    "failed": "message.failed",
    "expired": "message.expired",
}


async def _zone(gw: Gateway, caller: Caller) -> ZoneInfo:
    return formats.zone((await gw.billing.billing(caller.account_id)).timezone)


def _text(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationFailed(f"`{name}` must be a string.", code="invalid_parameter")
    return str(value)


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    return Params({"v": value}).flag("v")


def _recipients(obj: dict[str, Any]) -> tuple[list[str], bool]:
    """The numbers (or ``group:ID``) of one message object, and whether ``to`` was a list."""
    raw = obj.get("to")
    items: list[Any] = raw if isinstance(raw, list) else [raw]
    listed = isinstance(raw, list)
    out: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise ValidationFailed(
                '`to` is a number or a list of numbers, e.g. "32470123456".',
                code="missing_recipient",
            )
        out.extend(p.strip() for p in _SPLIT.split(str(item)) if p.strip())
    if not out:
        raise ValidationFailed(
            "`to` is missing: give the number(s) to send to.", code="missing_recipient"
        )
    if str(obj.get("type") or "").lower() == "group":
        for ref in out:
            if not ref.isdigit():
                raise ValidationFailed(
                    f"With type group, `to` is a group id (GET /v1/groups), not {ref!r}.",
                    code="invalid_group",
                )
        return [f"group:{ref}" for ref in out], listed or len(out) > 1
    return out, listed or len(out) > 1


def _requests(obj: Any, tz: ZoneInfo, default_test: bool) -> tuple[list[SendRequest], bool]:
    """One Smstools message object as smsbridge messages (one per number, or one per group)."""
    if not isinstance(obj, dict):
        raise ValidationFailed(
            'A message is an object such as {"message": "Hi", "to": "32470123456", '
            '"sender": "MyShop"}.',
            code="invalid_message",
        )
    text = _text(obj, "message")
    if text is None or not text.strip():
        raise ValidationFailed("`message` is missing: give the text to send.", code="missing_text")
    targets, many = _recipients(obj)
    sender = _text(obj, "sender")
    date = _text(obj, "date")
    reference = _text(obj, "reference")
    if reference is not None and len(reference) > MAX_REFERENCE:
        raise ValidationFailed(
            f"`reference` has {len(reference)} characters; at most {MAX_REFERENCE} are kept.",
            code="reference_too_long",
        )
    subid = _text(obj, "subid")
    send_at = formats.parse_when(date, tz) if date and date.strip() else None
    test = _flag(obj.get("test"), default_test)
    requests = [
        SendRequest(
            to=[target],
            text=text,
            sender=sender.strip() if sender and sender.strip() else None,
            send_at=send_at,
            test=test,
            foreign_id=reference or None,
            label=subid[:100] if subid else None,
            no_reload=_flag(obj.get("no_reload"), False),
        )
        for target in targets
    ]
    return requests, many


def _message_objects(params: Params) -> tuple[list[Any], bool]:
    if "_body" in params.values:
        body = params.values["_body"]
        if not isinstance(body, list) or not body:
            raise ValidationFailed(
                "The body is a message object or a non-empty list of them.",
                code="invalid_message",
            )
        return body, True
    return [dict(params.values)], False


@router.post("/v1/message/send", summary="Send an SMS to one or more numbers, or a group")
async def send_message(request: Request) -> Response:
    caller = await authenticate(request, scopes.MESSAGES_SEND)
    params = await read_params(request)
    gw = gateway(request)
    tz = await _zone(gw, caller)
    objects, many = _message_objects(params)
    default_test = _query_test(request)  # a JSON list's items may take `test` from the query
    items: list[SendRequest | SmsBridgeError] = []
    for obj in objects:
        try:
            requests, listed = _requests(obj, tz, default_test)
        except SmsBridgeError as exc:
            if not many:
                raise
            items.append(exc)
            continue
        many = many or listed
        items.extend(requests)
    if len(items) > MAX_MESSAGES:
        raise ValidationFailed(
            f"{len(items)} messages in one request; send at most {MAX_MESSAGES}.",
            code="too_many_messages",
        )
    if not many:
        (only,) = items
        assert isinstance(only, SendRequest)
        accepted = await gw.send.send(caller, only)
        return reply({"messageid": str(accepted.id)})
    done, errors = await gw.send.send_batch(caller, items)
    if not done and errors:
        raise errors[0].error
    body: dict[str, Any] = {"messageids": [str(m.id) for m in done]}
    if errors:
        body["errors"] = [item_error(e.error) for e in errors]
    return reply(body)


def _query_test(request: Request) -> bool:
    value = request.query_params.get("test")
    return Params({"test": value}).flag("test") if value is not None else False


# -- received ------------------------------------------------------------------------------


@router.get("/v1/message/inbox", summary="Received SMS, newest first (page, limit)")
async def inbox(request: Request) -> Response:
    caller = await authenticate(request, scopes.MESSAGES_READ)
    params = await read_params(request)
    gw = gateway(request)
    paging = formats.paging(params)
    async with gw.db.read() as conn:
        total = await offset_pages.count_inbound(conn, caller.account_id)
        cursor = await offset_pages.inbound_cursor(conn, caller.account_id, paging.offset)
    rows = await gw.conversations.inbound(caller, InboundFilter(before_id=cursor), paging.limit)
    tz = await _zone(gw, caller)
    return reply(paging.wrap(total, "messages", [formats.inbox(r, tz) for r in rows]))


@router.get("/v1/message/inbox/{inbound_id}", summary="One received SMS")
async def inbox_one(inbound_id: str, request: Request) -> Response:
    caller = await authenticate(request, scopes.MESSAGES_READ)
    params = await read_params(request)
    gw = gateway(request)
    ident = path_id(inbound_id, "received SMS")
    row = await gw.conversations.inbound_one(caller, ident)
    tz = await _zone(gw, caller)
    return reply(formats.paging(params).wrap(1, "messages", [formats.inbox(row, tz)]))


# -- outbox and logging --------------------------------------------------------------------


async def _message_page(
    gw: Gateway, caller: Caller, params: Params, status: str | None
) -> tuple[formats.Paging, int, list[tuple[dict[str, Any], list[dict[str, Any]]]]]:
    paging = formats.paging(params)
    async with gw.db.read() as conn:
        total = await offset_pages.count_messages(conn, caller.account_id, status)
        cursor = await offset_pages.message_cursor(conn, caller.account_id, paging.offset, status)
    page = await gw.messages.list(
        caller, MessageFilter(status=status, before_id=cursor), paging.limit
    )
    return paging, total, page.items


@router.get("/v1/outbox", summary="Scheduled messages that have not left yet")
async def outbox(request: Request) -> Response:
    caller = await authenticate(request, scopes.MESSAGES_READ)
    params = await read_params(request)
    gw = gateway(request)
    paging, total, items = await _message_page(gw, caller, params, "scheduled")
    tz = await _zone(gw, caller)
    return reply(paging.wrap(total, "messages", [formats.outbox(m, r, tz) for m, r in items]))


@router.get("/v1/outbox/{message_id}", summary="One scheduled message")
async def outbox_one(message_id: str, request: Request) -> Response:
    caller = await authenticate(request, scopes.MESSAGES_READ)
    gw = gateway(request)
    ident = path_id(message_id, "message")
    record = await gw.messages.get(caller, ident)
    if not any(r["status"] == "scheduled" for r in record.recipients):
        raise NotFound(
            f"Message {ident} is not in the outbox (it is no longer scheduled); see "
            "GET /v1/message/logging.",
            code="message_not_found",
        )
    tz = await _zone(gw, caller)
    return reply(formats.outbox(record.message, record.recipients, tz))


@router.delete("/v1/outbox/{message_id}", summary="Cancel a message that has not left")
async def outbox_cancel(message_id: str, request: Request) -> Response:
    caller = await authenticate(request, scopes.MESSAGES_CANCEL)
    ident = path_id(message_id, "message")
    await gateway(request).messages.cancel(caller, ident)
    return reply({"messageid": str(ident)})


@router.get("/v1/message/logging", summary="Sent messages with their status, newest first")
async def logging(request: Request) -> Response:
    caller = await authenticate(request, scopes.MESSAGES_READ)
    params = await read_params(request)
    gw = gateway(request)
    paging, total, items = await _message_page(gw, caller, params, None)
    tz = await _zone(gw, caller)
    entries = [formats.logging_entry(m, r, tz) for m, rs in items for r in rs]
    return reply(paging.wrap(total, "messages", entries))


@router.get("/v1/webhook/{message_id}", summary="A message's delivery reports")
async def reports(message_id: str, request: Request) -> Response:
    """The delivery report of each recipient that has one, as the webhook would carry it."""
    caller = await authenticate(request, scopes.MESSAGES_READ)
    ident = path_id(message_id, "message")
    record = await gateway(request).messages.get(caller, ident)
    message = record.message
    out: list[dict[str, Any]] = []
    for recipient in record.recipients:
        status = str(recipient["status"])
        event = _EVENT_OF.get(status)
        if event is None:
            continue
        code = recipient.get("error_code") if status in ("failed", "expired") else None
        data = {
            "message_id": str(message["id"]),
            "recipient_id": str(recipient["id"]),
            "to": recipient["to_number"],
            "status": status,
            "error": _error(recipient, code),
            "foreign_id": message.get("foreign_id"),
            "at": iso(recipient.get("updated_at")),
        }
        rendered = render(event, data)
        if rendered is not None:
            rendered["message"]["content"] = message["text"]
            rendered["message"]["sender"] = message.get("sender")
            out.append(rendered)
    return reply(out)


def _error(recipient: dict[str, Any], code: str | None) -> dict[str, Any] | None:
    if not code:
        return None
    return {
        "code": code,
        "message": recipient.get("error_message") or code,
        "reason": reason_for(recipient.get("channel"), code),
    }


# -- credits -------------------------------------------------------------------------------


def _amount(micro: int) -> str:
    return f"{credits(micro):.6f}".rstrip("0").rstrip(".")


@router.get("/v1/balance", summary="The account's credits")
async def balance(request: Request) -> Response:
    caller = await authenticate(request, scopes.ACCOUNT_READ)
    gw = gateway(request)
    amount, _prepaid = await gw.billing.balance(caller.account_id)
    billing = await gw.billing.billing(caller.account_id)
    # ``use``: what one SMS part costs by default, in credits.
    return reply(
        {
            "credits": _amount(amount),
            "currency": "credits",
            "use": float(credits(billing.prices.default)),
        }
    )


@router.get("/v1/account", summary="The account")
async def account(request: Request) -> Response:
    caller = await authenticate(request, scopes.ACCOUNT_READ)
    gw = gateway(request)
    amount, _prepaid = await gw.billing.balance(caller.account_id)
    billing = await gw.billing.billing(caller.account_id)
    async with gw.db.read() as conn:
        record = await account_store.by_id(conn, caller.account_id)
    if record is None:
        raise NotFound("The account no longer exists.", code="account_not_found")
    return reply(
        {
            "username": record.name,
            "email": record.email,
            "credits": float(credits(amount)),
            "currency": "credits",
            "creditstype": "credits",
            "use": _amount(billing.prices.default),
            "country": record.default_region,
        }
    )
