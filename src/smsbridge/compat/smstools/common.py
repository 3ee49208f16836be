"""Plumbing shared by the Smstools routes: the gateway, JSON replies, ids, page walking."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from smsbridge.compat.smstools.errors import SmstoolsRoute
from smsbridge.compat.smstools.formats import MAX_LIMIT, Paging
from smsbridge.core.errors import NotFound
from smsbridge.gateway import Gateway

Row = dict[str, Any]
# One page of rows after a cursor (an id), with the total: the native lists' shape.
Fetch = Callable[[int | None, int], Awaitable[tuple[list[Row], int]]]


def make_router() -> APIRouter:
    return APIRouter(route_class=SmstoolsRoute)


def gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


def reply(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def path_id(value: str, what: str) -> int:
    """A numeric id from the path; anything else names nothing."""
    text = value.strip()
    if not text.isdigit() or len(text) > 18:
        raise NotFound(f"There is no {what} {value!r}.", code=f"{what.replace(' ', '_')}_not_found")
    return int(text)


async def walk(fetch: Fetch, paging: Paging) -> tuple[list[Row], int]:
    """Page ``paging.page`` of an id-ordered list that pages by cursor."""
    skip = paging.offset
    after: int | None = None
    total: int | None = None
    while skip > 0:
        rows, total = await fetch(after, min(skip, MAX_LIMIT))
        if not rows:
            return [], total
        after = int(rows[-1]["id"])
        skip -= len(rows)
    rows, last_total = await fetch(after, paging.limit)
    return rows, last_total if total is None else max(total, last_total)
