"""Routes of the messaggisms API under ``/messaggisms``."""

from __future__ import annotations

from fastapi import APIRouter

PREFIX = "/messaggisms"
router = APIRouter(prefix=PREFIX, tags=["messaggisms compatible API"], include_in_schema=True)
