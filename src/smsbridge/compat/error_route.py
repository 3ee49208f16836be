"""One route class per provider door, differing only in how a refusal is written.

Each door renders the core's refusals (and request validation failures, as
:class:`ValidationFailed`) in its provider's own style instead of the native
``{"error": {...}}``; :func:`error_route` builds the APIRoute that does the catching.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import Response

from smsbridge.api.errors import describe_validation
from smsbridge.core.errors import SmsBridgeError, ValidationFailed

Renderer = Callable[[Request, SmsBridgeError], Response | Awaitable[Response]]


def error_route(render: Renderer) -> type[APIRoute]:
    """An APIRoute class whose refusals ``render`` writes."""

    class ErrorStyleRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def route(request: Request) -> Response:
                try:
                    return await handler(request)
                except SmsBridgeError as exc:
                    error: SmsBridgeError = exc
                except RequestValidationError as exc:
                    code, message, details = describe_validation(list(exc.errors()))
                    error = ValidationFailed(message, code=code, details=details)
                reply = render(request, error)
                return await reply if inspect.isawaitable(reply) else reply

            return route

    return ErrorStyleRoute
