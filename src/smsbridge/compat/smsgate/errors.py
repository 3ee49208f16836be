"""SMSGate's error style: ``{"code": <HTTP status>, "message": "...", "data": ...}``.

Routes of these routers use :class:`SmsGateRoute`, which renders the core's refusals and
request validation failures that way instead of the native ``{"error": {...}}``.
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


def error(
    status: int, message: str, data: Any = None, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps({"code": status, "message": message, "data": data}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


class SmsGateRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SmsBridgeError as exc:
                status = 400 if exc.status_code == 422 else exc.status_code
                data = (
                    {"code": exc.code, "details": exc.details}
                    if exc.details
                    else {"code": exc.code}
                )
                return error(status, exc.message, data, exc.headers)
            except RequestValidationError as exc:
                code, message, details = describe_validation(list(exc.errors()))
                return error(400, message, {"code": code, "details": details})

        return route
