"""seven.io's account and reporting calls: ``/balance``, ``/status``, ``/pricing``,
``/journal``, ``/analytics``."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import phonenumbers
from fastapi import Request
from starlette.responses import Response

from smsbridge.api.deps import GatewayDep
from smsbridge.compat.params import Params
from smsbridge.compat.seven import codes
from smsbridge.compat.seven.auth import caller
from smsbridge.compat.seven.errors import SevenError
from smsbridge.compat.seven.replies import json_reply, money, params_of, text_reply, wants_json
from smsbridge.compat.seven.routes import router
from smsbridge.compat.seven.sms import message_ids
from smsbridge.core import scopes
from smsbridge.store import outbound_journal
from smsbridge.store.inbound import InboundFilter
from smsbridge.store.outbound_journal import JournalFilter

MAX_JOURNAL = 100
MAX_ANALYTICS_ROWS = 200_000
# seven status -> our recipient states (the journal's `state` filter).
STATES: dict[str, list[str]] = {}
for _ours, _theirs in codes.STATUS.items():
    STATES.setdefault(_theirs, []).append(_ours)


def seven_time(us: int | None) -> str | None:
    """``2024-01-01 12:00:00.000`` (UTC), as seven's status and journal show times."""
    if us is None:
        return None
    moment = datetime.fromtimestamp(us / 1e6, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


@router.get("/balance", summary="Balance (seven.io)")
@router.post("/balance", include_in_schema=False)
async def balance(request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    who = await caller(request, params, scopes.ACCOUNT_READ)
    amount, _ = await gw.billing.balance(who.account_id)
    if wants_json(request, params):
        return json_reply({"amount": money(amount), "currency": "EUR"})
    return text_reply(f"{money(amount):.3f}")


@router.get("/status", summary="Delivery status of SMS (seven.io, legacy)")
@router.post("/status", include_in_schema=False)
async def status(request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    who = await caller(request, params, scopes.MESSAGES_READ)
    ids = message_ids(params, "msg_id")
    if not ids:
        raise SevenError(codes.INVALID_ID_OR_SIGNATURE, "Give `msg_id`.")
    found = await gw.messages.recipients(who, ids)
    if wants_json(request, params):
        return json_reply([
            {"id": str(i), "status": codes.STATUS.get(found[i]["status"], "UNKNOWN"),
             "status_time": seven_time(found[i]["updated_at"])}
            if i in found else {"id": str(i), "status": "UNKNOWN", "status_time": None}
            for i in ids
        ])  # fmt: skip
    row = found.get(ids[0])
    if row is None:
        raise SevenError(codes.INVALID_ID_OR_SIGNATURE, f"No SMS {ids[0]} in this account.")
    return text_reply(f"{codes.STATUS.get(row['status'], 'UNKNOWN')}\n"
                      f"{seven_time(row['updated_at'])}")  # fmt: skip


@router.get("/pricing", summary="Prices per country (seven.io)")
@router.post("/pricing", include_in_schema=False)
async def pricing(request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    who = await caller(request, params, scopes.ACCOUNT_READ)
    prices = (await gw.billing.billing(who.account_id)).prices
    wanted = (params.text("country") or "").upper() or None
    regions = [wanted] if wanted else sorted(phonenumbers.SUPPORTED_REGIONS)
    countries: list[dict[str, Any]] = []
    for region in regions:
        code = phonenumbers.country_code_for_region(region)
        if not code:
            continue
        networks = [
            {
                "comment": "",
                "features": ["sms"],
                "mcc": "",
                "mncs": [],
                "networkName": "all networks",
                "price": money(prices.per_part(f"+{code}")),
            }
        ]
        countries.append({"countryCode": region, "countryName": _country_name(region),
                          "countryPrefix": str(code), "networks": networks})  # fmt: skip
    if (params.text("format") or "json").lower() == "csv":
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\n")
        writer.writerow(["countryCode", "countryName", "countryPrefix", "mcc", "mncs",
                         "networkName", "price", "features", "comment"])  # fmt: skip
        for c in countries:
            for n in c["networks"]:
                writer.writerow([c["countryCode"], c["countryName"], c["countryPrefix"], "", "",
                                 n["networkName"], n["price"], "sms", ""])  # fmt: skip
        return text_reply(out.getvalue())
    return json_reply({"countCountries": len(countries), "countNetworks": len(countries),
                       "countries": countries})  # fmt: skip


def _country_name(region: str) -> str:
    # phonenumbers' place names take about 100 MB: loaded when first asked for, not at start.
    from phonenumbers import geocoder

    example = phonenumbers.example_number(region)
    return geocoder.country_name_for_number(example, "en") if example else region


def _day(raw: str | None, name: str, end: bool = False) -> int | None:
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw.strip()[:10])
    except ValueError:
        raise SevenError(codes.UNKNOWN_ERROR, f"`{name}` is a date like 2024-01-31.") from None
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1 if end else 0)
    return int(moment.timestamp() * 1_000_000)


def _journal_filter(params: Params, start: str, end: str) -> JournalFilter:
    state = (params.text("state") or "").upper()
    if state and state not in STATES:
        raise SevenError(codes.UNKNOWN_ERROR, f"Unknown state {state!r}.")
    to = params.text("to")
    return JournalFilter(
        ids=message_ids(params, "id"),
        since=_day(params.text(start), start),
        until=_day(params.text(end), end, end=True),
        to=("+" + to.lstrip("+")) if to else None,
        statuses=STATES.get(state, []),
        label=params.text("label") or None,
    )


async def _outbound(request: Request, gw: GatewayDep, params: Params) -> Response:
    who = await caller(request, params, scopes.MESSAGES_READ)
    flt = _journal_filter(params, "date_from", "date_to")
    limit = params.integer("limit", low=1, high=MAX_JOURNAL) or MAX_JOURNAL
    offset = params.integer("offset", low=0, high=10**9) or 0
    async with gw.db.read() as conn:
        rows = await outbound_journal.outbound(conn, who.account_id, flt, limit=limit,
                                               offset=offset)  # fmt: skip
    final = {"delivered", "failed", "expired", "rejected", "cancelled"}
    return json_reply([
        {"id": str(r["id"]), "to": r["to_number"].lstrip("+"), "from": r["sender"] or "",
         "text": r["text"] or r["message_text"], "timestamp": seven_time(r["created_at"]),
         "price": f"{money(r['price']):.4f}", "dlr": codes.STATUS.get(r["status"], "UNKNOWN"),
         "dlr_timestamp": seven_time(r["updated_at"]) if r["status"] in final else None,
         "mccmnc": None, "latency": None, "type": "direct", "channel": r["channel"] or "sms",
         "connection": "http", "label": r["label"], "foreign_id": r["foreign_id"]}
        for r in rows
    ])  # fmt: skip


async def _inbound(request: Request, gw: GatewayDep, params: Params) -> Response:
    who = await caller(request, params, scopes.MESSAGES_READ)
    limit = params.integer("limit", low=1, high=MAX_JOURNAL) or MAX_JOURNAL
    offset = params.integer("offset", low=0, high=10_000) or 0
    flt = InboundFilter(since=_day(params.text("date_from"), "date_from"),
                        until=_day(params.text("date_to"), "date_to", end=True))  # fmt: skip
    rows = await gw.conversations.inbound(who, flt, limit + offset)
    ids = set(message_ids(params, "id"))
    return json_reply([
        {"id": str(r["id"]), "from": r["from_number"].lstrip("+"),
         "to": (r["to_number"] or "").lstrip("+"), "text": r["text"],
         "timestamp": seven_time(r["received_at"]), "price": "0.0000",
         "reply_to_message_id": str(r["reply_to"]) if r["reply_to"] else None}
        for r in rows[offset:] if not ids or r["id"] in ids
    ])  # fmt: skip


@router.get("/journal/{kind}", summary="Journal of outbound or inbound SMS (seven.io)")
async def journal(kind: str, request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    if kind == "outbound":
        return await _outbound(request, gw, params)
    if kind in ("inbound", "replies"):
        return await _inbound(request, gw, params)
    if kind == "voice":
        await caller(request, params, scopes.MESSAGES_READ)
        return json_reply([])
    raise SevenError(codes.INVALID_TYPE, f"Unknown journal {kind!r}.")


@router.get("/journal", include_in_schema=False)
async def journal_legacy(request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    return await journal(params.text("type") or "outbound", request, gw)


_GROUPS = {"country", "date", "label", "subaccount"}


@router.get("/analytics/{group_by}", summary="Usage statistics (seven.io)")
async def analytics(group_by: str, request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    who = await caller(request, params, scopes.MESSAGES_READ)
    if group_by not in _GROUPS:
        raise SevenError(codes.INVALID_TYPE, f"Group analytics by one of {sorted(_GROUPS)}.")
    today = datetime.now(UTC).date()
    start = params.text("start") or (today - timedelta(days=30)).isoformat()
    end = params.text("end") or today.isoformat()
    flt = JournalFilter(since=_day(start, "start"), until=_day(end, "end", end=True),
                        label=params.text("label") or None)  # fmt: skip
    async with gw.db.read() as conn:
        rows = await outbound_journal.outbound(conn, who.account_id, flt,
                                               limit=MAX_ANALYTICS_ROWS)  # fmt: skip
    inbound = await gw.conversations.inbound(
        who, InboundFilter(since=flt.since, until=flt.until), MAX_ANALYTICS_ROWS
    )
    buckets: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"hlr": 0, "inbound": 0, "mnp": 0, "rcs": 0, "sms": 0, "usage_eur": 0.0,
                 "voice": 0}
    )  # fmt: skip

    def key(created: int, number: str, label: str | None) -> str:
        if group_by == "date":
            return datetime.fromtimestamp(created / 1e6, UTC).date().isoformat()
        if group_by == "label":
            return label or ""
        if group_by == "subaccount":
            return str(who.account_id)
        try:
            return phonenumbers.region_code_for_number(phonenumbers.parse(number)) or ""
        except phonenumbers.NumberParseException:
            return ""

    for r in rows:
        if r["test"]:
            continue
        bucket = buckets[key(r["created_at"], r["to_number"], r["label"])]
        bucket["sms"] += r["parts"] or r["message_parts"] or 1
        bucket["usage_eur"] = round(bucket["usage_eur"] + money(r["price"]), 6)
    for m in inbound:
        buckets[key(m["received_at"], m["from_number"], None)]["inbound"] += 1
    field = "account" if group_by == "subaccount" else group_by
    return json_reply([{field: k, **v} for k, v in sorted(buckets.items())])


@router.get("/analytics", include_in_schema=False)
async def analytics_legacy(request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    return await analytics(params.text("group_by") or "date", request, gw)
