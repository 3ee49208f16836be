"""Routes of the Smstools API under ``/smsgatewayapi``."""

from __future__ import annotations

from fastapi import APIRouter

PREFIX = "/smsgatewayapi"
router = APIRouter(prefix=PREFIX, tags=["Smstools compatible API"], include_in_schema=True)
