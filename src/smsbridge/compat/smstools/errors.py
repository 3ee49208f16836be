"""Smstools' error style: ``{"error": <int>, "errorMsg": "<str>"}``.

The numbers: 103 is an invalid phone number (from Smstools' own documentation of
``POST /v1/contact``); the others are smsbridge's, one per kind of refusal. The HTTP status is the
core's (a validation failure is a plain 400): 401 bad credentials, 402 no credit, 403 a scope the
key lacks, 404 unknown, 409 conflict, 429 too many requests.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from smsbridge.compat.error_route import error_route
from smsbridge.core.errors import SmsBridgeError

GENERAL = 100
UNAUTHORIZED = 101
INVALID_PARAMETER = 102
INVALID_NUMBER = 103
NOT_FOUND = 104
NO_CREDIT = 105
FORBIDDEN = 106
CONFLICT = 107
TOO_MANY_REQUESTS = 108
TOO_LARGE = 109

_BY_STATUS = {
    400: INVALID_PARAMETER,
    401: UNAUTHORIZED,
    402: NO_CREDIT,
    403: FORBIDDEN,
    404: NOT_FOUND,
    409: CONFLICT,
    413: TOO_LARGE,
    422: INVALID_PARAMETER,
    429: TOO_MANY_REQUESTS,
}
_NUMBER_CODES = frozenset(
    {"invalid_number", "missing_phone", "invalid_phone", "number_not_allowed", "no_recipients"}
)
_STATUS = {422: 400}  # validation failures are plain 400s here


def code_of(exc: SmsBridgeError) -> int:
    """The Smstools error number of a core refusal."""
    if exc.code in _NUMBER_CODES or exc.code.startswith("invalid_number"):
        return INVALID_NUMBER
    return _BY_STATUS.get(exc.status_code, GENERAL)


def item_error(exc: SmsBridgeError) -> dict[str, Any]:
    """One entry of a multi-item reply's ``errors``."""
    return {"error": code_of(exc), "errorMsg": exc.message}


def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps({"error": code, "errorMsg": message}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def from_exception(exc: SmsBridgeError) -> Response:
    status = _STATUS.get(exc.status_code, exc.status_code)
    return error(status, code_of(exc), exc.message, exc.headers)


def _render(_request: Request, exc: SmsBridgeError) -> Response:
    return from_exception(exc)


SmstoolsRoute = error_route(_render)
