"""/api/v1/opt-outs: numbers that get no messages from the account except transactional ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from smsbridge.api.deps import ContactsReadCaller, ContactsWriteCaller, GatewayDep
from smsbridge.api.v1.params import json_response
from smsbridge.api.v1.schemas import ErrorOut
from smsbridge.core.timefmt import iso

router = APIRouter(
    prefix="/api/v1/opt-outs",
    tags=["opt-outs"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)


class OptOutsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"numbers": ["+4917612345678"]}]}
    )
    numbers: list[str] = Field(min_length=1, max_length=100_000)


@router.get("", summary="The opt-out list")
async def list_opt_outs(
    gw: GatewayDep,
    caller: ContactsReadCaller,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    rows, total = await gw.optouts.page(caller, cursor, limit)
    return json_response(
        {
            "opt_outs": [
                {"number": r["number"], "source": r["source"], "created_at": iso(r["created_at"])}
                for r in rows
            ],
            "total": total,
            "next_cursor": rows[-1]["number"] if len(rows) == limit else None,
        }
    )


@router.post("", status_code=201, summary="Add numbers to the opt-out list")
async def add_opt_outs(body: OptOutsIn, gw: GatewayDep, caller: ContactsWriteCaller) -> Response:
    added = await gw.optouts.add(caller, body.numbers)
    return json_response({"numbers": added}, 201)


@router.delete("/{number}", status_code=204, summary="Take a number off the opt-out list")
async def remove_opt_out(number: str, gw: GatewayDep, caller: ContactsWriteCaller) -> Response:
    await gw.optouts.remove(caller, number)
    return Response(status_code=204)
