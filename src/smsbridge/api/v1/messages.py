"""/api/v1/messages: send, batch, read, list, cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from pydantic import ValidationError
from starlette.responses import Response

from smsbridge.api.deps import CallerDep, GatewayDep
from smsbridge.api.errors import describe_validation
from smsbridge.api.v1 import render
from smsbridge.api.v1.schemas import (
    BatchIn,
    BatchOut,
    ErrorOut,
    MessageIn,
    MessageListOut,
    MessageOut,
)
from smsbridge.core.errors import NotFound, SmsBridgeError, ValidationFailed
from smsbridge.core.message import Status
from smsbridge.services.send import SendRequest
from smsbridge.store.messages import MessageFilter

router = APIRouter(prefix="/api/v1/messages", tags=["messages"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing, unknown or revoked API key"},
    422: {
        "model": ErrorOut,
        "description": "The request cannot be accepted; `error.code` says why",
    },
}


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _message_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 19:
        raise NotFound(
            f"No message {raw!r}; message ids are numeric strings.", code="message_not_found"
        )
    return int(raw)


@router.post(
    "",
    status_code=202,
    response_model=MessageOut,
    responses=ERRORS,
    summary="Send a message to one or more recipients",
)
async def send_message(body: MessageIn, gw: GatewayDep, caller: CallerDep) -> Response:
    accepted = await gw.send.send(caller, body.to_request())
    return _json(render.accepted(accepted), 202)


@router.post(
    "/batch",
    status_code=202,
    response_model=BatchOut,
    responses=ERRORS,
    summary="Send up to 10,000 messages in one request and one transaction",
    description="Invalid items are reported in `errors` by index with the reason; the valid "
    "ones are accepted and returned in request order.",
)
async def send_batch(body: BatchIn, gw: GatewayDep, caller: CallerDep) -> Response:
    limit = gw.settings.max_batch_messages
    if len(body.messages) > limit:
        raise ValidationFailed(
            f"{len(body.messages)} messages in one batch; at most {limit} are allowed. "
            "Split them over several requests.",
            code="batch_too_large",
        )
    if not body.messages:
        raise ValidationFailed(
            "The batch is empty; put messages in `messages`.", code="batch_empty"
        )
    items: list[SendRequest | SmsBridgeError] = []
    for raw in body.messages:
        try:
            items.append(MessageIn.model_validate(raw).to_request())
        except ValidationError as exc:
            code, message, details = describe_validation(list(exc.errors()))
            items.append(ValidationFailed(message, code=code, details=details))
    accepted, errors = await gw.send.send_batch(caller, items)
    return _json(
        {
            "messages": [render.accepted(m) for m in accepted],
            "errors": [
                {"index": e.index, "code": e.error.code, "message": e.error.message} for e in errors
            ],
        },
        202,
    )


@router.get("", response_model=MessageListOut, responses=ERRORS, summary="List messages")
async def list_messages(
    gw: GatewayDep,
    caller: CallerDep,
    status: Annotated[Status | None, Query(description="Recipient status")] = None,
    to: Annotated[str | None, Query(description="Recipient number (E.164)")] = None,
    label: str | None = None,
    foreign_id: str | None = None,
    since: Annotated[datetime | None, Query(description="Created at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Created before (ISO 8601)")] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    if cursor is not None and not cursor.isdigit():
        raise ValidationFailed(
            "Invalid cursor; pass `next_cursor` from the previous page.", code="invalid_cursor"
        )
    number = None
    if to is not None:
        from smsbridge.core.numbers import InvalidNumber, normalize

        try:
            number = normalize(to, caller.default_region or gw.settings.default_region)
        except InvalidNumber:
            number = to
    flt = MessageFilter(
        status=status.value if status else None,
        to=number,
        label=label,
        foreign_id=foreign_id,
        since=_us(since),
        until=_us(until),
        before_id=int(cursor) if cursor else None,
    )
    page = await gw.messages.list(caller, flt, limit)
    return _json(
        {
            "messages": [render.listed(row, rcpts) for row, rcpts in page.items],
            "next_cursor": page.next_cursor,
        }
    )


@router.get(
    "/{message_id}",
    response_model=MessageOut,
    responses={**ERRORS, 404: {"model": ErrorOut}},
    summary="A message with each recipient's status history and its parts",
)
async def get_message(message_id: str, gw: GatewayDep, caller: CallerDep) -> Response:
    record = await gw.messages.get(caller, _message_id(message_id))
    return _json(render.detailed(record))


@router.delete(
    "/{message_id}",
    response_model=MessageOut,
    responses={**ERRORS, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
    summary="Cancel what has not left yet",
    description="Cancels every recipient still queued or scheduled. 409 when none is left "
    "to cancel.",
)
async def cancel_message(message_id: str, gw: GatewayDep, caller: CallerDep) -> Response:
    record = await gw.messages.cancel(caller, _message_id(message_id))
    return _json(render.detailed(record))


def _us(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationFailed(
            "Dates need a time zone, e.g. 2026-05-01T00:00:00Z.", code="invalid_date"
        )
    return int(value.timestamp() * 1_000_000)
