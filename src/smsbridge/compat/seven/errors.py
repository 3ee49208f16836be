"""seven.io's error style: HTTP 200 with a numeric return code as the body.

Routes of the seven router use :class:`SevenRoute`, which turns the core's refusals (and any
bad input) into the code that means the same at seven.io, as text or as a JSON string.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import Response

from smsbridge.compat.seven import codes
from smsbridge.compat.seven.replies import code_reply, params_of, wants_json
from smsbridge.core.errors import SmsBridgeError

log = logging.getLogger(__name__)


class SevenError(SmsBridgeError):
    """A refusal that has its own seven.io return code."""

    def __init__(self, seven_code: int, message: str) -> None:
        super().__init__(message, code=f"seven_{seven_code}")
        self.seven_code = seven_code


class SevenRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SevenError as exc:
                return await _reply(request, exc.seven_code)
            except SmsBridgeError as exc:
                return await _reply(request, codes.for_error(exc.code))
            except RequestValidationError:
                return await _reply(request, codes.UNKNOWN_ERROR)

        return route


async def _reply(request: Request, code: int) -> Response:
    try:
        as_json = wants_json(request, await params_of(request))
    except SmsBridgeError:
        as_json = "application/json" in request.headers.get("accept", "")
    return code_reply(code, as_json)
