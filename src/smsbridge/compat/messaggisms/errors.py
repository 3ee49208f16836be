"""messaggisms' error style: ``{"data": null, "success": false, "message": "...", "error": N}``.

``error`` is the HTTP status of the reply (401 no or bad token, 403 a scope the token lacks,
404 unknown message or recipient, 400 bad input, 402 not enough credit, 409 too late, 429 too
many requests). The OpenApi-PHP client throws on ``success == false`` with ``message``, and
returns null on a 404.
"""

from __future__ import annotations

import orjson
from fastapi import Request
from starlette.responses import Response

from smsbridge.compat.error_route import error_route
from smsbridge.core.errors import SmsBridgeError

# The core's statuses as messaggisms answers them (validation is a plain 400 there).
_STATUS = {422: 400}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps({"data": None, "success": False, "message": message, "error": status}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _render(_request: Request, exc: SmsBridgeError) -> Response:
    return error(_STATUS.get(exc.status_code, exc.status_code), exc.message, exc.headers)


MessaggismsRoute = error_route(_render)
