"""Routes of the seven.io API under ``/seven/api``."""

from __future__ import annotations

from fastapi import APIRouter

PREFIX = "/seven/api"
router = APIRouter(prefix=PREFIX, tags=["seven.io compatible API"], include_in_schema=True)
