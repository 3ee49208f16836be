"""The account's opt-out list: numbers that get no messages except transactional ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from smsbridge.config import Settings
from smsbridge.core.errors import NotFound
from smsbridge.core.numbers import normalize
from smsbridge.services.caller import Caller
from smsbridge.store import optouts as store
from smsbridge.store.db import Database, now_us


class OptOutService:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    def _normalize(self, caller: Caller, numbers: Sequence[str]) -> list[str]:
        region = caller.default_region or self.settings.default_region
        return [normalize(n, region) for n in numbers]

    async def add(self, caller: Caller, numbers: Sequence[str], source: str = "api") -> list[str]:
        normalized = self._normalize(caller, numbers)
        async with self.db.write() as conn:
            await store.add(conn, caller.account_id, normalized, source, now_us())
        return normalized

    async def remove(self, caller: Caller, number: str) -> None:
        (normalized,) = self._normalize(caller, [number])
        async with self.db.write() as conn:
            if not await store.remove(conn, caller.account_id, [normalized]):
                raise NotFound(
                    f"{normalized} is not on the opt-out list.", code="opt_out_not_found"
                )

    async def page(
        self, caller: Caller, after: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        async with self.db.read() as conn:
            return await store.page(conn, caller.account_id, after=after, limit=limit)

    async def contains(self, caller: Caller, numbers: Sequence[str]) -> set[str]:
        async with self.db.read() as conn:
            return await store.matching(conn, caller.account_id, numbers)
