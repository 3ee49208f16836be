"""The seven.io router under ``/seven/api``; its routes live in the modules of this package
(sms, account, contacts, hooks, lookup) and answer errors as seven's return codes."""

from __future__ import annotations

from fastapi import APIRouter

from smsbridge.compat.seven.errors import SevenRoute

PREFIX = "/seven/api"
router = APIRouter(prefix=PREFIX, tags=["seven.io compatible API"], route_class=SevenRoute)
