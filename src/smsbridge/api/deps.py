"""Request dependencies: the gateway and the authenticated caller."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from smsbridge.gateway import Gateway
from smsbridge.services.caller import Caller

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_api_key = APIKeyHeader(name="X-Api-Key", auto_error=False, description="X-Api-Key: <API key>")


async def gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


def api_key_from(headers: Mapping[str, str]) -> str | None:
    """The API key from `Authorization: Bearer KEY` or `X-Api-Key: KEY`."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return headers.get("x-api-key") or None


async def caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Caller:
    key = bearer.credentials if bearer is not None else api_key
    gw: Gateway = request.app.state.gateway
    return await gw.keys.authenticate(key)


GatewayDep = Annotated[Gateway, Depends(gateway)]
CallerDep = Annotated[Caller, Depends(caller)]
