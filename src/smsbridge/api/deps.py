"""Request dependencies: the gateway and the authenticated caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from smsbridge.core import scopes
from smsbridge.gateway import Gateway
from smsbridge.services import signing
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


async def authenticate(request: Request, scope: str) -> Caller:
    """The caller of ``request``, refused unless its key holds ``scope``."""
    return await authenticate_key(request, api_key_from(request.headers), scope)


async def authenticate_key(request: Request, key: str | None, scope: str) -> Caller:
    """The caller holding API key ``key`` (however the door carried it), refused unless the key
    holds ``scope``; signed requests checked for keys that require them, rate limit applied."""
    gw: Gateway = request.app.state.gateway
    client = request.client.host if request.client else None
    found = await gw.keys.authenticate(key, client)
    if found.signing_secret is not None and found.key_id is not None:
        await signing.verify(
            gw.db, key_id=found.key_id, secret=found.signing_secret, headers=request.headers,
            method=request.method, url=str(request.url), body=await request.body(),
        )  # fmt: skip
    found.require(scope)
    gw.limiter.check(found)
    return found


def caller_with(scope: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency: the authenticated caller, holding ``scope``."""

    async def dependency(
        request: Request,
        _bearer_doc: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        _key_doc: Annotated[str | None, Depends(_api_key)],
    ) -> Caller:
        return await authenticate(request, scope)

    return dependency


GatewayDep = Annotated[Gateway, Depends(gateway)]
SendCaller = Annotated[Caller, Depends(caller_with(scopes.MESSAGES_SEND))]
ReadCaller = Annotated[Caller, Depends(caller_with(scopes.MESSAGES_READ))]
CancelCaller = Annotated[Caller, Depends(caller_with(scopes.MESSAGES_CANCEL))]
AdminCaller = Annotated[Caller, Depends(caller_with(scopes.ADMIN))]
ContactsReadCaller = Annotated[Caller, Depends(caller_with(scopes.CONTACTS_READ))]
ContactsWriteCaller = Annotated[Caller, Depends(caller_with(scopes.CONTACTS_WRITE))]
CampaignsCaller = Annotated[Caller, Depends(caller_with(scopes.CAMPAIGNS_WRITE))]
WebhooksCaller = Annotated[Caller, Depends(caller_with(scopes.WEBHOOKS_WRITE))]
