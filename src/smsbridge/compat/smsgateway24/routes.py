"""Routes of the SmsGateway24 API under ``/smsgateway24/getdata``."""

from __future__ import annotations

from fastapi import APIRouter

PREFIX = "/smsgateway24/getdata"
router = APIRouter(prefix=PREFIX, tags=["SmsGateway24 compatible API"], include_in_schema=True)
