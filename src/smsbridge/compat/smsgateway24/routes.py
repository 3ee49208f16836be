"""Routes of the SmsGateway24 API under ``/smsgateway24/getdata``.

Every method answers GET and POST and reads its parameters from the query string, an
urlencoded or multipart body, or JSON (``read_params``). Authentication: ``token`` is a smsbridge
API key, or the token ``gettoken`` returns for the account's email and password (valid for an
hour); ``smstosend`` takes the email and password itself. Errors are HTTP 200 with
``{"error": 1, "message": ...}``, as the hosted API answers them.

Identifiers: ``sms_id`` is the id of one recipient (smsbridge's per-recipient id), ``tag_id`` a
group id, ``contact_id`` a contact id, ``paket_id`` a campaign id, ``device_id`` a number from
:mod:`smsbridge.compat.smsgateway24.devices` (phones and virtual devices for other channels).
SIM slots are 0-based here (smsbridge's are 1-based).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from smsbridge.api.deps import api_key_from, authenticate_key
from smsbridge.compat.params import Params, read_params
from smsbridge.compat.smsgateway24 import devices as dev
from smsbridge.compat.smsgateway24 import history, status
from smsbridge.compat.smsgateway24.errors import SmsGateway24Route, error, ok
from smsbridge.compat.smsgateway24.formats import Zone, end_of, parse_time, zone
from smsbridge.core import scopes
from smsbridge.core.errors import (
    Conflict,
    NotFound,
    SmsBridgeError,
    Unauthorized,
    ValidationFailed,
)
from smsbridge.core.message import Priority
from smsbridge.core.numbers import InvalidNumber, normalize
from smsbridge.gateway import Gateway
from smsbridge.services.accounts import LOGIN_TOKEN_SECONDS
from smsbridge.services.caller import Caller
from smsbridge.services.campaigns import CampaignSpec
from smsbridge.services.message_plan import SendRequest
from smsbridge.services.ttl_cache import TtlCache
from smsbridge.store.db import now_us

PREFIX = "/smsgateway24/getdata"
router = APIRouter(
    prefix=PREFIX,
    tags=["SmsGateway24 compatible API"],
    include_in_schema=True,
    route_class=SmsGateway24Route,
)
SAVED = "Sms has been saved successfully"
MAX_BULK = 10_000
# smstosend logs in on every call: reuse the login's token while it is valid.
_logins: TtlCache[tuple[str, str], str] = TtlCache(LOGIN_TOKEN_SECONDS - 300)

Handler = Callable[[Request], Awaitable[Response]]
HANDLERS: dict[str, Handler] = {}


def method(name: str, summary: str) -> Callable[[Handler], Handler]:
    """Register ``name`` for GET and POST (and for the catch-all, which forgives a slash)."""

    def register(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        # One documented operation (POST, as the SDKs call it); GET is its twin.
        router.add_api_route(
            f"/{name}", handler, methods=["POST"], summary=summary, name=f"sg24_{name}"
        )
        router.add_api_route(f"/{name}", handler, methods=["GET"], include_in_schema=False)
        return handler

    return register


def _gw(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


async def _caller(request: Request, params: Params, scope: str) -> Caller:
    token = params.text("token") or api_key_from(request.headers)
    if not token:
        raise Unauthorized(
            "Missing token: pass `token` (a smsbridge API key, or the token from gettoken).",
            code="missing_token",
        )
    return await authenticate_key(request, token, scope)


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _required(params: Params, name: str, *aliases: str) -> str:
    value = params.text(name, *aliases)
    if value is None or not value.strip():
        raise ValidationFailed(f"`{name}` is required.", code="missing_parameter",
                               details={"parameter": name})  # fmt: skip
    return value


async def _account_zone(gw: Gateway, caller: Caller, given: str | None = None) -> Zone:
    return zone(given, (await gw.billing.billing(caller.account_id)).timezone)


# ---------------------------------------------------------------------------- tokens


@method("gettoken", "Email and password -> a token (valid for an hour)")
async def gettoken(request: Request) -> Response:
    params = await read_params(request)
    email = _required(params, "email", "login")
    password = _required(params, "pass", "password")
    created = await _gw(request).accounts.login(email, password, client=_client(request))
    return ok({"error": 0, "message": "OK", "token": created.key})


async def _login_caller(request: Request, params: Params, scope: str) -> Caller:
    email = _required(params, "email", "login")
    password = _required(params, "pass", "password")
    gw = _gw(request)
    key = (email.strip().lower(), hashlib.sha256(password.encode()).hexdigest())
    found, token = _logins.get(key)
    if found and token is not None:
        try:
            return await authenticate_key(request, token, scope)
        except Unauthorized:
            _logins.discard(key)
    created = await gw.accounts.login(email, password, client=_client(request))
    _logins.put(key, created.key)
    return await authenticate_key(request, created.key, scope)


# ---------------------------------------------------------------------------- sending


class Phones:
    """The account's phones, read once per request when a device is named."""

    def __init__(self, gw: Gateway, account_id: int) -> None:
        self.gw = gw
        self.account_id = account_id
        self._phones: list[dict[str, Any]] | None = None

    async def all(self) -> list[dict[str, Any]]:
        if self._phones is None:
            self._phones = await self.gw.devices.all_of(self.account_id)
        return self._phones

    async def find(self, ref: str) -> dev.Device:
        return dev.find(await self.all(), ref)


async def _send_request(values: Params, phones: Phones, tz: Zone) -> SendRequest:
    """One SMS as addsms (or an addalotofsms item) describes it."""
    sendto = values.text("sendto", "phone", "to")
    if sendto is None or not sendto.strip():
        raise ValidationFailed("`sendto` is required: the recipient's number.",
                               code="missing_recipient")  # fmt: skip
    body = values.text("body", "text", "message")
    if body is None or body == "":
        raise ValidationFailed("`body` is required: the text of the SMS.", code="text_empty")
    req = SendRequest(to=[n.strip() for n in sendto.split(",") if n.strip()], text=body)
    when = values.text("timetosend")
    if when and when.strip() not in ("0", "0000-00-00 00:00:00"):
        req.send_at = parse_time(when, tz.tz, "timetosend")
    if values.flag("urgent"):
        req.priority = Priority.HIGH
    # The account's reload lock (the same text to the same number within minutes) applies as
    # on every door; this smsbridge extension sends such a repeat anyway.
    req.no_reload = values.flag("no_reload")
    customer = values.text("customerid", "customerId", "customer_id")
    if customer is not None and customer.strip():
        if len(customer) > 64:
            raise ValidationFailed("`customerid` has at most 64 characters.",
                                   code="invalid_parameter")  # fmt: skip
        req.foreign_id = customer.strip()
    device_ref = values.text("device_id", "deviceid")
    sim = values.integer("sim", low=0, high=7)
    if device_ref and device_ref.strip() not in ("", "0"):
        device = await phones.find(device_ref)
        if device.phone_id is not None:
            req.device_id = device.phone_id
            req.sim = sim + 1 if sim is not None else None
        else:
            req.channel = device.channel  # a virtual device: no SIM slots
    return req


def _sms_id(accepted: Any) -> int:
    """The id of the first recipient that was not refused (the first one otherwise)."""
    for recipient in accepted.recipients:
        if recipient.status != "rejected":
            return int(recipient.id)
    return int(accepted.recipients[0].id)


async def _send_one(request: Request, params: Params, caller: Caller) -> Response:
    gw = _gw(request)
    req = await _send_request(
        params, Phones(gw, caller.account_id), await _account_zone(gw, caller)
    )
    accepted = await gw.send.send(caller, req)
    reply: dict[str, Any] = {"error": 0, "sms_id": _sms_id(accepted), "message": SAVED}
    if len(accepted.recipients) > 1:
        reply["sms_ids"] = [r.id for r in accepted.recipients]
    return ok(reply)


@method("addsms", "Send one SMS (token)")
async def addsms(request: Request) -> Response:
    params = await read_params(request)
    caller = await _caller(request, params, scopes.MESSAGES_SEND)
    return await _send_one(request, params, caller)


@method("smstosend", "Send one SMS (email and password)")
async def smstosend(request: Request) -> Response:
    params = await read_params(request)
    caller = await _login_caller(request, params, scopes.MESSAGES_SEND)
    return await _send_one(request, params, caller)


def _bulk_body(params: Params) -> tuple[str | None, list[Any]]:
    """(token, smsdata) from a raw JSON body or a ``datajson`` field holding that JSON."""
    token = params.text("token")
    data: Any = params.get("smsdata")
    raw = params.get("datajson")
    if raw is not None:
        if isinstance(raw, str):
            try:
                raw = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise ValidationFailed(
                    '`datajson` is not valid JSON; send {"token": ..., "smsdata": [...]}.',
                    code="invalid_json",
                ) from None
        if not isinstance(raw, dict):
            raise ValidationFailed('`datajson` must be an object {"token", "smsdata"}.',
                                   code="invalid_json")  # fmt: skip
        token = token or (str(raw["token"]) if raw.get("token") else None)
        data = raw.get("smsdata", data)
    if isinstance(data, str):
        try:
            data = orjson.loads(data)
        except orjson.JSONDecodeError:
            data = None
    if data is None:
        data = params.nested("smsdata")
    if not isinstance(data, list) or not data:
        raise ValidationFailed(
            '`smsdata` is required: a list of SMS such as [{"sendto": "+4915752982212", '
            '"body": "Hi", "device_id": 260}].',
            code="missing_parameter",
        )
    if len(data) > MAX_BULK:
        raise ValidationFailed(f"At most {MAX_BULK} SMS per addalotofsms call.",
                               code="too_many_messages")  # fmt: skip
    return token, data


@method("addalotofsms", "Send many SMS in one call (JSON body or datajson field)")
async def addalotofsms(request: Request) -> Response:
    params = await read_params(request)
    token, data = _bulk_body(params)
    if token:
        params.values["token"] = token
    caller = await _caller(request, params, scopes.MESSAGES_SEND)
    gw = _gw(request)
    phones = Phones(gw, caller.account_id)
    tz = await _account_zone(gw, caller)
    items: list[SendRequest | SmsBridgeError] = []
    for item in data:
        try:
            if not isinstance(item, dict):
                raise ValidationFailed("Each smsdata item is an object {sendto, body, ...}.",
                                       code="invalid_item")  # fmt: skip
            items.append(await _send_request(Params(values=item), phones, tz))
        except SmsBridgeError as exc:
            items.append(exc)
    accepted, errors = await gw.send.send_batch(caller, items)
    if not accepted:
        first = errors[0].error
        return error(f"No SMS saved: {first.message}", first.code)
    ids: list[int | None] = [None] * len(items)
    staged = iter(accepted)
    failed = {e.index for e in errors}
    for index in range(len(items)):
        if index not in failed:
            ids[index] = _sms_id(next(staged))
    reply: dict[str, Any] = {"error": 0, "message": SAVED, "sms_ids": ids}
    if errors:
        reply["errors"] = [
            {"index": e.index, "message": e.error.message, "error_code": e.error.code}
            for e in errors
        ]
    return ok(reply)


# ---------------------------------------------------------------------------- reading


@method("getsmsstatus", "The status of one SMS")
async def getsmsstatus(request: Request) -> Response:
    params = await read_params(request)
    caller = await _caller(request, params, scopes.MESSAGES_READ)
    sms_id = params.integer("sms_id", "id", low=1)
    if sms_id is None:
        raise ValidationFailed("`sms_id` is required.", code="missing_parameter")
    found = await history.one(_gw(request).db, caller.account_id, sms_id)
    if found is None:
        raise NotFound(f"Sms {sms_id} not found in this account.", code="sms_not_found")
    code, _ = found
    return ok(
        {
            "error": 0,
            "sms_id": sms_id,
            "status": code,
            "status_description": status.title(code),
            "message": "Ok",
        }
    )


@method("getallsms", "The account's SMS, sent and received, with filters")
async def getallsms(request: Request) -> Response:
    params = await read_params(request)
    caller = await _caller(request, params, scopes.MESSAGES_READ)
    gw = _gw(request)
    tz = await _account_zone(gw, caller, params.text("timezone"))
    q = history.Query(caller.account_id, default_channel=gw.settings.channel)
    device_ref = params.text("device_id", "deviceid")
    if device_ref and device_ref.strip() not in ("", "0"):
        q.device = await Phones(gw, caller.account_id).find(device_ref)
    q.code = params.integer("status")
    if q.code is not None and q.code not in status.CODES:
        raise ValidationFailed(
            f"Unknown status {q.code}; statuses are {', '.join(str(c) for c in status.CODES)}.",
            code="invalid_status",
        )
    begin, end = params.text("begindate"), params.text("enddate")
    if begin and begin.strip():
        q.since = int(parse_time(begin, tz.tz, "begindate").timestamp() * 1_000_000)
    if end and end.strip():
        q.until = int(end_of(end, tz.tz, "enddate").timestamp() * 1_000_000)
    sim = params.integer("sim", low=0, high=7)
    q.sim = sim + 1 if sim is not None else None
    customer = params.text("customerid", "customerId", "customer_id")
    q.customer = customer.strip() if customer and customer.strip() else None
    phone = params.text("phone")
    if phone and phone.strip():
        try:
            q.number = normalize(phone, caller.default_region or gw.settings.default_region)
        except InvalidNumber:
            q.number = phone.strip()
    q.desc = params.flag("orderbydesc")
    total = await history.count(gw.db, q)
    if params.flag("onlycount"):
        return ok({"error": 0, "count": total, "message": "Ok"})
    smss = await history.rows(gw.db, q, tz)
    return ok({"error": 0, "count": total, "message": "Ok", "smss": smss, "sms": smss})


# ---------------------------------------------------------------------------- address book


@method("savetag", "Create a tag (a group of contacts)")
async def savetag(request: Request) -> Response:
    params = await read_params(request)
    caller = await _caller(request, params, scopes.CONTACTS_WRITE)
    title = _required(params, "title", "name").strip()
    contacts = _gw(request).contacts
    try:
        group = await contacts.create_group(caller, title)
        tag_id = int(group["id"])
    except Conflict:  # the title exists: the tag is the same
        tag_id = await contacts.resolve_group(caller, title)
    return ok({"error": 0, "message": "Ok", "tag_id": tag_id})


@method("savecontact", "Add a contact to a tag")
async def savecontact(request: Request) -> Response:
    params = await read_params(request)
    caller = await _caller(request, params, scopes.CONTACTS_WRITE)
    phone = _required(params, "phone")
    item: dict[str, Any] = {"phone": phone}
    fullname = (params.text("fullname", "name") or "").strip()
    if fullname:
        first, _, last = fullname.partition(" ")
        item["firstname"] = first
        item["lastname"] = last.strip() or None
    tag = params.integer("tag_id", "ctag_id", "tagid", low=1)
    result = await _gw(request).contacts.save(
        caller, [item], add_groups=[tag] if tag is not None else ()
    )
    if result.errors:
        raise result.errors[0].error
    return ok({"error": 0, "message": "Ok", "contact_id": result.saved[0][1]})


@method("savepaket", "Send a newsletter (paket) to tags")
async def savepaket(request: Request) -> Response:
    params = await read_params(request)
    caller = await _caller(request, params, scopes.CAMPAIGNS_WRITE)
    gw = _gw(request)
    title = _required(params, "title", "name")
    body = _required(params, "body", "text")
    raw_tags = params.get("tags", "tag_id", "tag_ids")
    tags: list[str | int] = []
    for part in raw_tags if isinstance(raw_tags, list) else [raw_tags]:
        if part is None:
            continue
        tags += [int(t) if t.strip().isdigit() else t.strip()
                 for t in str(part).split(",") if t.strip()]  # fmt: skip
    if not tags:
        raise ValidationFailed("`tags` is required: tag ids separated by commas, e.g. 12,13.",
                               code="missing_parameter")  # fmt: skip
    spec = CampaignSpec(name=title, text=body, groups=tags)
    device_ref = params.text("device_id", "deviceid")
    sim = params.integer("sim", low=0, high=7)
    if device_ref and device_ref.strip() not in ("", "0"):
        device = await Phones(gw, caller.account_id).find(device_ref)
        if device.phone_id is not None:
            spec.device_id = device.phone_id
            spec.sim = sim + 1 if sim is not None else None
        else:
            spec.channel = device.channel  # a virtual device: no SIM slots
    when = params.text("time_to_send", "timetosend")
    if when and when.strip() not in ("0", ""):
        tz = await _account_zone(gw, caller)
        at: datetime = parse_time(when, tz.tz, "time_to_send")
        if at.timestamp() * 1_000_000 > now_us():
            spec.send_at = at
    view = await gw.campaigns.create(caller, spec)
    paket_id = int(view.row["id"])
    try:
        await gw.campaigns.start(caller, paket_id)
    except SmsBridgeError:
        await gw.campaigns.delete(caller, paket_id)
        raise
    return ok({"error": 0, "message": "Ok", "paket_id": paket_id, "paket": paket_id})


# ---------------------------------------------------------------------------- devices


def _device_json(device: dev.Device, tz: Zone, now: int) -> dict[str, Any]:
    phone = device.phone
    if phone is None:
        return {
            "id": device.number, "title": f"smsbridge {device.channel}", "number": None,
            "imei": None, "created": None, "createdhumanformat": None,
            "lastseen": tz.php(now), "lastseenhumanformat": tz.human(now),
            "serialnumber": f"channel:{device.channel}", "siminfo": [], "appversion": None,
            "isappversionactual": True, "delaybetweeneachsms": None, "delaybetweenrequest": None,
            "subscription": True, "online": True, "channel": device.channel,
        }  # fmt: skip
    sims = [
        {
            "Slot": str(card.get("slotIndex", (card.get("simNumber") or 1) - 1)),
            "IccId": card.get("iccid"),
            "Number": card.get("phoneNumber"),
            "Roaming": "0",
            "CountryIso": None,
            "CarrierName": card.get("carrierName"),
        }
        for card in phone["sims"]
    ]
    return {
        "id": device.number, "title": phone["name"],
        "number": sims[0]["Number"] if sims else None, "imei": None,
        "created": tz.php(phone["created_at"]), "createdhumanformat": tz.human(phone["created_at"]),
        "lastseen": tz.php(phone["last_seen"]), "lastseenhumanformat": tz.human(phone["last_seen"]),
        "serialnumber": phone["id"], "siminfo": sims, "appversion": phone.get("app_version"),
        "isappversionactual": True, "delaybetweeneachsms": None, "delaybetweenrequest": None,
        "subscription": True, "online": bool(phone["online"]), "channel": device.channel,
    }  # fmt: skip


@method("getalldevices", "The account's phones and virtual devices")
async def getalldevices(request: Request) -> Response:
    params = await read_params(request)
    caller = await _caller(request, params, scopes.MESSAGES_READ)
    gw = _gw(request)
    tz = await _account_zone(gw, caller, params.text("timezone"))
    now = now_us()
    found = dev.all_devices(await gw.devices.all_of(caller.account_id))
    return ok(
        {
            "error": 0,
            "message": "OK",
            "count": len(found),
            "device": {str(d.number): _device_json(d, tz, now) for d in found},
        }
    )


@method("getdevicestatus", "Whether a device is online, and when it was last seen")
async def getdevicestatus(request: Request) -> Response:
    params = await read_params(request)
    caller = await _caller(request, params, scopes.MESSAGES_READ)
    gw = _gw(request)
    device = await Phones(gw, caller.account_id).find(_required(params, "device_id", "deviceid"))
    tz = await _account_zone(gw, caller, params.text("timezone"))
    now = now_us()
    seen = device.phone["last_seen"] if device.phone else now
    online = bool(device.phone["online"]) if device.phone else True
    title = device.phone["name"] if device.phone else f"smsbridge {device.channel}"
    return ok(
        {
            "online": online, "error": 0, "message": "OK", "device_id": device.number,
            "lastseen": tz.php(seen), "diffseconds": max(0, (now - seen) // 1_000_000),
            "title": title,
        }
    )  # fmt: skip


# ---------------------------------------------------------------------------- the rest


@router.api_route(
    "/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    include_in_schema=False,
)
async def catch_all(rest: str, request: Request) -> Response:
    name = rest.strip("/")
    handler = HANDLERS.get(name)
    if handler is not None and request.method in ("GET", "POST"):
        return await handler(request)
    if handler is not None:
        return error(f"{name} answers GET and POST, not {request.method}.", "method_not_allowed")
    return error(
        f"Unknown method {name!r}; methods are {', '.join(sorted(HANDLERS))}.", "unknown_method"
    )
