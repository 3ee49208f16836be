"""/api/v1/balance: the caller's credits."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends
from starlette.responses import Response

from smsbridge.api.deps import GatewayDep, caller_with
from smsbridge.api.v1.schemas import ErrorOut
from smsbridge.core import scopes
from smsbridge.core.pricing import credits
from smsbridge.services.caller import Caller

router = APIRouter(prefix="/api/v1", tags=["account"])
AccountCaller = Annotated[Caller, Depends(caller_with(scopes.ACCOUNT_READ))]


@router.get(
    "/balance",
    summary="The account's credit balance",
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)
async def balance(gw: GatewayDep, caller: AccountCaller) -> Response:
    amount, prepaid = await gw.billing.balance(caller.account_id)
    body = {"balance": credits(amount), "currency": "credits", "prepaid": prepaid}
    return Response(orjson.dumps(body), media_type="application/json")
