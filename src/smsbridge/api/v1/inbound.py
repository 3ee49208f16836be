"""/api/v1/inbound and /api/v1/conversations: received SMS and threads per number."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from smsbridge.api.deps import GatewayDep, ReadCaller
from smsbridge.api.v1.params import json_response, parse_cursor, parse_id, time_us
from smsbridge.api.v1.schemas import ErrorOut
from smsbridge.core.errors import NotFound, ValidationFailed
from smsbridge.core.reasons import reason_for
from smsbridge.core.timefmt import iso
from smsbridge.services.events import inbound_data
from smsbridge.store.inbound import InboundFilter

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}  # fmt: skip
inbound_router = APIRouter(prefix="/api/v1/inbound", tags=["inbound"], responses=_ERRORS)
conversations_router = APIRouter(
    prefix="/api/v1/conversations", tags=["conversations"], responses=_ERRORS
)


def _inbound(row: dict[str, Any]) -> dict[str, Any]:
    data = inbound_data(row)
    return {"id": data.pop("inbound_id"), **data, "read_at": iso(row["read_at"])}


@inbound_router.get("", summary="Received SMS, newest first")
async def list_inbound(
    gw: GatewayDep,
    caller: ReadCaller,
    from_: Annotated[str | None, Query(alias="from", description="Sender number")] = None,
    to: Annotated[str | None, Query(description="The number or SIM it was sent to")] = None,
    channel: Annotated[str | None, Query()] = None,
    keyword: Annotated[str | None, Query(description="stop or start")] = None,
    unread: Annotated[bool | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="Received at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Received before (ISO 8601)")] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    flt = InboundFilter(
        from_number=gw.conversations.number(caller, from_) if from_ else None,
        to_number=to,
        channel=channel,
        keyword=keyword,
        unread=unread,
        since=time_us(since),
        until=time_us(until),
        before_id=parse_cursor(cursor),
    )
    rows = await gw.conversations.inbound(caller, flt, limit)
    return json_response(
        {
            "inbound": [_inbound(r) for r in rows],
            "next_cursor": str(rows[-1]["id"]) if len(rows) == limit else None,
        }
    )


@inbound_router.get("/{inbound_id}", summary="One received SMS")
async def get_inbound(inbound_id: str, gw: GatewayDep, caller: ReadCaller) -> Response:
    ident = parse_id(inbound_id)
    if ident is None:
        raise NotFound(f"There is no received SMS {inbound_id!r}.", code="inbound_not_found")
    return json_response(_inbound(await gw.conversations.inbound_one(caller, ident)))


def _outbound(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "direction": "outbound",
        "message_id": str(row["message_id"]),
        "recipient_id": str(row["id"]),
        "text": row["text"],
        "from": row["sender"],
        "status": row["status"],
        "error": (
            {"code": row["error_code"], "reason": reason_for(None, row["error_code"])}
            if row["error_code"]
            else None
        ),
        "at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def _item(row: dict[str, Any]) -> dict[str, Any]:
    if row["direction"] == "outbound":
        return _outbound(row)
    return {"direction": "inbound", **_inbound(row), "at": iso(row["received_at"])}


def _conversation_cursor(raw: str | None) -> tuple[int, str] | None:
    if raw is None:
        return None
    at, sep, number = raw.partition("~")
    if not sep or not at.isdigit() or not number:
        raise ValidationFailed(
            "Invalid cursor; pass `next_cursor` from the previous page.", code="invalid_cursor"
        )
    return int(at), number


@conversations_router.get("", summary="One row per number that wrote in, newest first")
async def list_conversations(
    gw: GatewayDep,
    caller: ReadCaller,
    unread: Annotated[bool, Query(description="Only conversations with unread SMS")] = False,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    rows = await gw.conversations.conversations(
        caller, before=_conversation_cursor(cursor), unread_only=unread, limit=limit
    )
    out = []
    for row in rows:
        last_in, last_out = row["last_inbound"], row["last_outbound"]
        last: dict[str, Any] | None = None
        if last_in is not None:
            last = _item({"direction": "inbound", **last_in})
        newer_out = last_out is not None and (
            last_in is None or last_out["created_at"] > last_in["received_at"]
        )
        if newer_out:
            last = _outbound(last_out)
        out.append(
            {
                "number": row["number"],
                "unread": row["unread"],
                "inbound_count": row["inbound_count"],
                "last_inbound_at": iso(row["last_inbound_at"]),
                "last_message": last,
            }
        )
    next_cursor = (
        f"{rows[-1]['last_inbound_at']}~{rows[-1]['number']}" if len(rows) == limit else None
    )
    return json_response({"conversations": out, "next_cursor": next_cursor})


@conversations_router.get("/{number}", summary="Both directions with one number, in order")
async def get_conversation(
    number: str,
    gw: GatewayDep,
    caller: ReadCaller,
    cursor: Annotated[str | None, Query(description="`next_cursor`: older messages")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    before = parse_cursor(cursor)
    normalized, summary, items = await gw.conversations.thread(
        caller, number, before=before, limit=limit
    )
    oldest = items[0]["at"] if items else None
    return json_response(
        {
            "number": normalized,
            "unread": summary["unread"] if summary else 0,
            "messages": [_item(r) for r in items],
            "next_cursor": str(oldest) if len(items) == limit and oldest is not None else None,
        }
    )


@conversations_router.post("/{number}/read", summary="Mark the number's received SMS read")
async def mark_read(
    number: str,
    gw: GatewayDep,
    caller: ReadCaller,
    up_to: Annotated[str | None, Query(description="Only up to this inbound id")] = None,
) -> Response:
    marked = await gw.conversations.mark_read(caller, number, parse_cursor(up_to))
    return json_response({"marked": marked})
