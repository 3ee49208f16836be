"""API keys: create (shown once), list, revoke, and authenticate requests."""

from __future__ import annotations

import secrets
import time

from smsbridge.core.encoding import parse_languages
from smsbridge.core.errors import NotFound, Unauthorized
from smsbridge.services.caller import Caller
from smsbridge.store import keys as repo
from smsbridge.store.db import Database, now_us

KEY_PREFIX = "sb_"


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class KeyService:
    def __init__(self, db: Database, *, cache_seconds: float = 2.0) -> None:
        self.db = db
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Caller | None]] = {}

    async def create(self, *, account: str = "default", name: str = "default") -> tuple[int, str]:
        key = generate_key()
        async with self.db.write() as conn:
            account_id = await repo.account_id_by_name(conn, account)
            if account_id is None:
                raise NotFound(f"No account named {account!r}.", code="account_not_found")
            key_id = await repo.create_key(
                conn, account_id=account_id, name=name, key=key, now=now_us()
            )
        return key_id, key

    async def list(self, account: str | None = None) -> list[repo.KeyRecord]:
        async with self.db.read() as conn:
            account_id = None
            if account is not None:
                account_id = await repo.account_id_by_name(conn, account)
                if account_id is None:
                    raise NotFound(f"No account named {account!r}.", code="account_not_found")
            return await repo.list_keys(conn, account_id)

    async def revoke(self, key_id: int) -> None:
        async with self.db.write() as conn:
            if not await repo.revoke_key(conn, key_id, now_us()):
                raise NotFound(
                    f"No active key with id {key_id}; see `smsbridge keys list`.",
                    code="key_not_found",
                )
        self._cache.clear()

    async def authenticate(self, key: str | None) -> Caller:
        if not key:
            raise Unauthorized(
                "Missing API key: send `Authorization: Bearer <key>` or `X-Api-Key: <key>`; "
                "create one with `smsbridge keys create`.",
                code="missing_api_key",
            )
        digest = repo.hash_key(key)
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            caller = hit[1]
        else:
            async with self.db.read() as conn:
                record = await repo.find_by_hash(conn, digest)
            caller = None
            if record is not None and record.revoked_at is None:
                caller = Caller(
                    record.account_id,
                    record.id,
                    record.default_region,
                    record.default_sender,
                    parse_languages(record.national_languages),
                )
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + self.cache_seconds, caller)
        if caller is None:
            raise Unauthorized(
                "Invalid or revoked API key; check the key or create a new one with "
                "`smsbridge keys create`.",
                code="invalid_api_key",
            )
        return caller
