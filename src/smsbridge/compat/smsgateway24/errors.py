"""SmsGateway24's error style: HTTP 200 with ``{"error": 1, "message": "..."}``.

The hosted API answers every refusal that way (its SDKs throw when ``error == 1``; Guzzle, under
the PHP SDK, would throw its own exception on a 4xx before the SDK read the message). smsbridge's
stable error code rides along as ``error_code``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import Response

from smsbridge.api.errors import describe_validation
from smsbridge.core.errors import SmsBridgeError


def ok(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def error(message: str, code: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps({"error": 1, "message": message, "error_code": code}),
        media_type="application/json",
        headers=headers,
    )


class SmsGateway24Route(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SmsBridgeError as exc:
                return error(exc.message, exc.code, exc.headers)
            except RequestValidationError as exc:
                code, message, _ = describe_validation(list(exc.errors()))
                return error(message, code)

        return route
