"""Shared by the address-book and campaign commands: a gateway without a dispatcher, and the
account acting as the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from smsbridge.config import Settings
from smsbridge.gateway import Gateway
from smsbridge.services.caller import Caller
from smsbridge.store import accounts


@asynccontextmanager
async def open_gateway(cfg: Settings, account: str) -> AsyncIterator[tuple[Gateway, Caller]]:
    """The services over the configured database (migrated) and ``account`` as the caller.
    Sending is left to the running gateway's dispatchers (`smsbridge serve` or `worker`)."""
    gateway = Gateway(cfg)
    await gateway.start(dispatch=False)
    try:
        async with gateway.db.read() as conn:
            record = await accounts.require(conn, account)
        yield gateway, Caller.of_account(record)
    finally:
        await gateway.stop()
