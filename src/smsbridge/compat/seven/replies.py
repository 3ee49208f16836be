"""How seven.io answers: JSON for its current clients, plain text for legacy callers.

The current SDKs send ``Accept: application/json`` and need JSON everywhere; the legacy ones
send nothing and read ``100`` or ``12.345`` as text unless they pass ``json=1``. So: JSON when
``json`` is set, the Accept header asks for it, or the body was JSON; text otherwise.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from smsbridge.compat.params import Params, read_params


async def params_of(request: Request) -> Params:
    """The request's merged parameters, read once per request."""
    cached: Params | None = getattr(request.state, "seven_params", None)
    if cached is None:
        cached = await read_params(request)
        request.state.seven_params = cached
    return cached


def wants_json(request: Request, params: Params) -> bool:
    if params.json_body or "application/json" in request.headers.get("accept", "").lower():
        return True
    try:
        return params.flag("json")
    except Exception:
        return False


def json_reply(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def text_reply(body: str, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="text/plain; charset=utf-8")


def code_reply(code: int, as_json: bool) -> Response:
    """A bare return code: ``"900"`` (a JSON string, which every client checks) or ``900``."""
    return json_reply(str(code)) if as_json else text_reply(str(code))


def money(micro: int) -> float:
    return round(micro / 1_000_000, 6)
