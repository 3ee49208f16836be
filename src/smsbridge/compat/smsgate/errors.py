"""SMSGate's error style: ``{"code": <HTTP status>, "message": "...", "data": ...}``.

Routes of these routers use :class:`SmsGateRoute`, which renders the core's refusals and
request validation failures that way instead of the native ``{"error": {...}}``.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from smsbridge.compat.error_route import error_route
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


def _render(_request: Request, exc: SmsBridgeError) -> Response:
    status = 400 if exc.status_code == 422 else exc.status_code
    data = {"code": exc.code, "details": exc.details} if exc.details else {"code": exc.code}
    return error(status, exc.message, data, exc.headers)


SmsGateRoute = error_route(_render)
