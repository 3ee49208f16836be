"""Every error is JSON: ``{"error": {"code", "message", "details"?}}``; never a bare 500."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from smsbridge.core.errors import SmsBridgeError

log = logging.getLogger(__name__)


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return Response(
        orjson.dumps({"error": body}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def describe_validation(errors: list[Any]) -> tuple[str, str, list[dict[str, str]]]:
    details = [
        {"field": _location(tuple(e.get("loc", ()))), "problem": e.get("msg", "")} for e in errors
    ]
    if any(e.get("type") == "json_invalid" for e in errors):
        return (
            "invalid_json",
            "The request body is not valid JSON; send a JSON object with "
            "Content-Type: application/json.",
            details,
        )
    first = details[0] if details else {"field": "body", "problem": "invalid"}
    more = f" (and {len(details) - 1} more problem(s), see details)" if len(details) > 1 else ""
    return "invalid_request", f"{first['field']}: {first['problem']}{more}", details


def validation_error_response(errors: list[Any]) -> Response:
    """400 for a body that is not JSON, 422 for JSON that breaks the schema."""
    code, message, details = describe_validation(errors)
    return error_response(400 if code == "invalid_json" else 422, code, message, details)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SmsBridgeError)
    async def _domain(_request: Request, exc: SmsBridgeError) -> Response:
        return error_response(
            exc.status_code, exc.code, exc.message, exc.details, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        return validation_error_response(list(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        message = str(exc.detail)
        if exc.status_code == 404:
            message = "No such endpoint; see /docs for the API reference."
        elif exc.status_code == 405:
            message = "This endpoint does not accept that HTTP method; see /docs."
        return error_response(
            exc.status_code,
            codes.get(exc.status_code, "http_error"),
            message,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(
            500,
            "internal_error",
            "Something went wrong inside smsbridge; the request was not "
            "applied. Retry, and report it if it persists.",
        )
