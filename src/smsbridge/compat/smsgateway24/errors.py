"""SmsGateway24's error style: HTTP 200 with ``{"error": 1, "message": "..."}``.

The hosted API answers every refusal that way (its SDKs throw when ``error == 1``; Guzzle, under
the PHP SDK, would throw its own exception on a 4xx before the SDK read the message). smsbridge's
stable error code rides along as ``error_code``.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from smsbridge.compat.error_route import error_route
from smsbridge.core.errors import SmsBridgeError


def ok(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def error(message: str, code: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps({"error": 1, "message": message, "error_code": code}),
        media_type="application/json",
        headers=headers,
    )


def _render(_request: Request, exc: SmsBridgeError) -> Response:
    return error(exc.message, exc.code, exc.headers)


SmsGateway24Route = error_route(_render)
