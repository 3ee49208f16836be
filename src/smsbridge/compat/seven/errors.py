"""seven.io's error style: HTTP 200 with a numeric return code as the body.

Routes of the seven router use :class:`SevenRoute`, which turns the core's refusals (and any
bad input) into the code that means the same at seven.io, as text or as a JSON string.
"""

from __future__ import annotations

import logging

from fastapi import Request
from starlette.responses import Response

from smsbridge.compat.error_route import error_route
from smsbridge.compat.seven import codes
from smsbridge.compat.seven.replies import code_reply, params_of, wants_json
from smsbridge.core.errors import SmsBridgeError

log = logging.getLogger(__name__)


class SevenError(SmsBridgeError):
    """A refusal that has its own seven.io return code."""

    def __init__(self, seven_code: int, message: str) -> None:
        super().__init__(message, code=f"seven_{seven_code}")
        self.seven_code = seven_code


async def _render(request: Request, exc: SmsBridgeError) -> Response:
    code = exc.seven_code if isinstance(exc, SevenError) else codes.for_error(exc.code)
    return await _reply(request, code)


SevenRoute = error_route(_render)


async def _reply(request: Request, code: int) -> Response:
    try:
        as_json = wants_json(request, await params_of(request))
    except SmsBridgeError:
        as_json = "application/json" in request.headers.get("accept", "")
    return code_reply(code, as_json)
