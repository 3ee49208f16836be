"""/api/v1/messages: send, batch, read, list, cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response
from starlette.routing import Route

from smsbridge.api.deps import CancelCaller, GatewayDep, ReadCaller, SendCaller, authenticate
from smsbridge.api.errors import describe_validation, validation_error_response
from smsbridge.api.v1 import render
from smsbridge.api.v1.params import json_response, parse_cursor, parse_id, time_us
from smsbridge.api.v1.schemas import (
    BatchIn,
    BatchOut,
    ErrorOut,
    MessageIn,
    MessageListOut,
    MessageOut,
    RecipientsIn,
    RescheduleIn,
    plain_request,
)
from smsbridge.core import scopes
from smsbridge.core.errors import NotFound, SmsBridgeError, ValidationFailed
from smsbridge.core.message import Status
from smsbridge.core.pricing import credits
from smsbridge.gateway import Gateway
from smsbridge.services.caller import Caller
from smsbridge.services.message_plan import SendRequest
from smsbridge.store.messages import MessageFilter

router = APIRouter(prefix="/api/v1/messages", tags=["messages"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing, unknown or revoked API key"},
    422: {
        "model": ErrorOut,
        "description": "The request cannot be accepted; `error.code` says why",
    },
}


def _message_id(raw: str) -> int:
    value = parse_id(raw)
    if value is None:
        raise NotFound(
            f"No message {raw!r}; message ids are numeric strings.", code="message_not_found"
        )
    return value


@router.post(
    "",
    status_code=202,
    response_model=MessageOut,
    responses=ERRORS,
    summary="Send a message to one or more recipients",
)
async def send_message(body: MessageIn, gw: GatewayDep, caller: SendCaller) -> Response:
    accepted = await gw.send.send(caller, body.to_request())
    return json_response(render.accepted(accepted), 202)


async def send_message_lean(request: Request) -> Response:
    """The same endpoint as :func:`send_message` without FastAPI's per-request dependency
    machinery: it is the hottest path of the gateway. Same model, auth, service, rendering and
    error handlers; :func:`send_message` remains its documentation (OpenAPI)."""
    gw: Gateway = request.app.state.gateway
    caller = await authenticate(request, scopes.MESSAGES_SEND)
    try:
        body = MessageIn.model_validate_json(await request.body())
    except ValidationError as exc:
        return validation_error_response(list(exc.errors()))
    accepted = await gw.send.send(caller, body.to_request())
    return json_response(render.accepted(accepted), 202)


@router.post(
    "/batch",
    status_code=202,
    response_model=BatchOut,
    responses=ERRORS,
    summary="Send up to 10,000 messages in one request and one transaction",
    description="Invalid items are reported in `errors` by index with the reason; the valid "
    "ones are accepted and returned in request order.",
)
async def send_batch(body: BatchIn, gw: GatewayDep, caller: SendCaller) -> Response:
    async with gw.send.bulk_turn:
        return await _accept_batch(gw, caller, body.messages)


async def send_batch_lean(request: Request) -> Response:
    """Lean twin of :func:`send_batch` (bulk ingest is a hot path); same rules and errors."""
    gw: Gateway = request.app.state.gateway
    caller = await authenticate(request, scopes.MESSAGES_SEND)
    raw = await request.body()
    async with gw.send.bulk_turn:
        try:
            # orjson parses twice as fast; pydantic reads anything it refuses, in its own words.
            body = _batch_adapter.validate_python(orjson.loads(raw))
        except (orjson.JSONDecodeError, ValidationError):
            try:
                body = _batch_adapter.validate_json(raw)
            except ValidationError as exc:
                return validation_error_response(list(exc.errors()))
        return await _accept_batch(gw, caller, body.messages)


_batch_adapter = TypeAdapter(BatchIn)
_items_adapter = TypeAdapter(list[MessageIn])


async def _accept_batch(gw: Gateway, caller: Caller, raw_items: list[Any]) -> Response:
    limit = gw.settings.max_batch_messages
    if len(raw_items) > limit:
        raise ValidationFailed(
            f"{len(raw_items)} messages in one batch; at most {limit} are allowed. "
            "Split them over several requests.",
            code="batch_too_large",
        )
    if not raw_items:
        raise ValidationFailed(
            "The batch is empty; put messages in `messages`.", code="batch_empty"
        )
    items: list[SendRequest | SmsBridgeError] = _validate_items(raw_items)
    billing = await gw.billing.billing(caller.account_id)
    staged = gw.send.stage_batch(caller, await gw.send.resolve_batch(caller, items), billing)
    await gw.send.commit(staged)
    # The reload lock or the daily cap may have turned some down, and opted-out numbers are
    # rejected while writing: the reply shows the settled state.
    staged.settle()
    rendered = render.accepted_many(staged.accepted)
    body: dict[str, Any] = {
        "messages": rendered,
        "errors": [
            {"index": e.index, "code": e.error.code, "message": e.error.message}
            for e in staged.errors
        ],
    }
    balance = staged.rows.balances.get(caller.account_id)
    if balance is not None:
        body["balance"] = credits(balance)
    return json_response(body, 202)


def _validate_items(raw_items: list[Any]) -> list[SendRequest | SmsBridgeError]:
    """Plain items directly, the others in one pydantic call; on failure, find the bad ones
    by index."""
    items: list[SendRequest | SmsBridgeError | None] = [plain_request(i) for i in raw_items]
    rest = [i for i, item in enumerate(items) if item is None]
    if rest:
        checked = _validate_models([raw_items[i] for i in rest])
        for index, request in zip(rest, checked, strict=True):
            items[index] = request
    return items  # type: ignore[return-value]  # every None was filled in


def _validate_models(raw_items: list[Any]) -> list[SendRequest | SmsBridgeError]:
    """Validate items in one pydantic call; on failure, find the bad ones by index."""
    try:
        return [m.to_request() for m in _items_adapter.validate_python(raw_items)]
    except ValidationError as exc:
        by_index: dict[int, list[Any]] = {}
        for error in exc.errors():
            loc = error.get("loc", ())
            if loc and isinstance(loc[0], int):
                by_index.setdefault(loc[0], []).append({**error, "loc": loc[1:]})
    items: list[SendRequest | SmsBridgeError] = []
    good = [raw for i, raw in enumerate(raw_items) if i not in by_index]
    valid = iter(_items_adapter.validate_python(good))
    for index in range(len(raw_items)):
        if index in by_index:
            code, message, details = describe_validation(by_index[index])
            items.append(ValidationFailed(message, code=code, details=details))
        else:
            items.append(next(valid).to_request())
    return items


# Served ahead of the FastAPI router (see app.py).
lean_routes = [
    Route("/api/v1/messages", send_message_lean, methods=["POST"]),
    Route("/api/v1/messages/batch", send_batch_lean, methods=["POST"]),
]


@router.post(
    "/preview",
    responses=ERRORS,
    summary="What a send would do, without sending",
    description="Takes the body of POST /api/v1/messages and answers, per recipient (or the "
    "first `sample` of them), the rendered text, encoding, parts and price, and who would be "
    "rejected and why (invalid, opted out). Nothing is written or charged.",
)
async def preview_message(
    body: MessageIn,
    gw: GatewayDep,
    caller: SendCaller,
    sample: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> Response:
    accepted = await gw.send.preview(caller, body.to_request(), sample)
    return json_response(render.preview(accepted))


@router.post(
    "/{message_id}/recipients",
    responses={**ERRORS, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
    summary="Add recipients to a draft",
)
async def add_recipients(
    message_id: str, body: RecipientsIn, gw: GatewayDep, caller: SendCaller
) -> Response:
    mid = _message_id(message_id)
    added = await gw.drafts.add_recipients(caller, mid, body.targets())
    record = await gw.messages.get(caller, mid)
    return json_response({"added": added, **render.detailed(record)})


@router.post(
    "/{message_id}/close",
    responses={
        **ERRORS,
        402: {"model": ErrorOut},
        404: {"model": ErrorOut},
        409: {"model": ErrorOut},
    },
    summary="Close a draft: price it, charge it and queue it",
)
async def close_draft(message_id: str, gw: GatewayDep, caller: SendCaller) -> Response:
    mid = _message_id(message_id)
    await gw.drafts.close(caller, mid)
    return json_response(render.detailed(await gw.messages.get(caller, mid)))


@router.patch(
    "/{message_id}",
    responses={**ERRORS, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
    summary="Change when a draft or a not yet sent message goes out",
)
async def reschedule_message(
    message_id: str, body: RescheduleIn, gw: GatewayDep, caller: SendCaller
) -> Response:
    mid = _message_id(message_id)
    await gw.drafts.reschedule(caller, mid, body.send_at)
    return json_response(render.detailed(await gw.messages.get(caller, mid)))


@router.get("", response_model=MessageListOut, responses=ERRORS, summary="List messages")
async def list_messages(
    gw: GatewayDep,
    caller: ReadCaller,
    status: Annotated[Status | None, Query(description="Recipient status")] = None,
    to: Annotated[str | None, Query(description="Recipient number (E.164)")] = None,
    label: str | None = None,
    foreign_id: str | None = None,
    since: Annotated[datetime | None, Query(description="Created at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Created before (ISO 8601)")] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    before_id = parse_cursor(cursor)
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
        since=time_us(since),
        until=time_us(until),
        before_id=before_id,
    )
    page = await gw.messages.list(caller, flt, limit)
    return json_response(
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
async def get_message(message_id: str, gw: GatewayDep, caller: ReadCaller) -> Response:
    record = await gw.messages.get(caller, _message_id(message_id))
    return json_response(render.detailed(record))


@router.delete(
    "/{message_id}",
    response_model=MessageOut,
    responses={**ERRORS, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
    summary="Cancel what has not left yet",
    description="Cancels every recipient still queued or scheduled. 409 when none is left "
    "to cancel.",
)
async def cancel_message(message_id: str, gw: GatewayDep, caller: CancelCaller) -> Response:
    record = await gw.messages.cancel(caller, _message_id(message_id))
    return json_response(render.detailed(record))
