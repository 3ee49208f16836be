"""Request dependencies: the gateway and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from smsbridge.gateway import Gateway
from smsbridge.services.caller import Caller

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_api_key = APIKeyHeader(name="X-Api-Key", auto_error=False, description="X-Api-Key: <API key>")


def gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


async def caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Caller:
    key = bearer.credentials if bearer is not None else api_key
    return await gateway(request).keys.authenticate(key)


GatewayDep = Annotated[Gateway, Depends(gateway)]
CallerDep = Annotated[Caller, Depends(caller)]
