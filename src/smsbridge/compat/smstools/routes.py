"""Routes of the Smstools API (smsgatewayapi.com) under ``/smsgatewayapi``.

Software written for ``https://api.smsgatewayapi.com`` (such as the ``smstools-api-client``
SDK) works by pointing its base URL at ``http://HOST:PORT/smsgatewayapi``. Credentials are the
``X-Client-Id`` (an API key's id) and ``X-Client-Secret`` (the key) headers; every reply is
JSON, errors ``{"error": <int>, "errorMsg": "..."}``, unknown paths included.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from smsbridge.compat.smstools import contacts, messages
from smsbridge.compat.smstools.errors import NOT_FOUND, SmstoolsRoute, error

PREFIX = "/smsgatewayapi"
FORMAT = "smstools"  # the webhook payload format name (see webhook.py)
router = APIRouter(
    prefix=PREFIX,
    tags=["Smstools compatible API"],
    include_in_schema=True,
    route_class=SmstoolsRoute,
)
router.include_router(contacts.router)
router.include_router(messages.router)


@router.api_route("", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
@router.api_route(
    "/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def unknown(request: Request, path: str = "") -> Response:
    return error(
        404,
        NOT_FOUND,
        f"There is no {request.method} /{path} in this API; see "
        "https://www.smstools.com/en/sms-gateway-api for its methods.",
    )
