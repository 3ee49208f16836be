"""/api/v1/auth/login: email and password -> a key valid for an hour."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from smsbridge.api.deps import GatewayDep
from smsbridge.api.v1.schemas import ErrorOut
from smsbridge.core.timefmt import iso
from smsbridge.store import keys as key_store

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ops@acme.example", "password": "s3cret-pass"}]},
    )
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)


@router.post(
    "/login",
    summary="Log in with email and password; the token works as a Bearer key for an hour",
    responses={401: {"model": ErrorOut}, 429: {"model": ErrorOut}},
)
async def login(body: LoginIn, request: Request, gw: GatewayDep) -> Response:
    client = request.client.host if request.client else None
    created = await gw.accounts.login(body.email, body.password, client=client)
    async with gw.db.read() as conn:
        record = await key_store.find_by_id(conn, created.id)
    expires = iso(record.expires_at) if record else None
    return Response(
        orjson.dumps({"token": created.key, "token_type": "Bearer", "expires_at": expires}),
        media_type="application/json",
    )
