"""API keys: only a SHA-256 hash of each key is stored (keys are long random strings, so a
fast hash is safe; passwords use argon2)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store.schema import accounts, api_keys


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: int
    account_id: int
    account_name: str
    account_status: str
    name: str
    prefix: str
    created_at: int
    revoked_at: int | None
    scopes: str
    expires_at: int | None
    ip_allow: str | None
    require_signature: bool
    signing_secret: str | None
    default_region: str | None
    default_sender: str | None
    national_languages: str | None
    rate_limit: int | None


def _select() -> Select[Any]:
    return select(
        api_keys.c.id,
        api_keys.c.account_id,
        accounts.c.name.label("account_name"),
        accounts.c.status.label("account_status"),
        api_keys.c.name,
        api_keys.c.prefix,
        api_keys.c.created_at,
        api_keys.c.revoked_at,
        api_keys.c.scopes,
        api_keys.c.expires_at,
        api_keys.c.ip_allow,
        api_keys.c.require_signature,
        api_keys.c.signing_secret,
        accounts.c.default_region,
        accounts.c.default_sender,
        accounts.c.national_languages,
        accounts.c.rate_limit,
    ).join(accounts, accounts.c.id == api_keys.c.account_id)


@dataclass(frozen=True, slots=True)
class NewKey:
    account_id: int
    name: str
    key: str
    scopes: str
    expires_at: int | None = None
    ip_allow: str | None = None
    require_signature: bool = False
    signing_secret: str | None = None


async def create_key(conn: AsyncConnection, new: NewKey, *, now: int) -> int:
    result = await conn.execute(
        insert(api_keys)
        .values(
            account_id=new.account_id,
            name=new.name,
            key_hash=hash_key(new.key),
            prefix=new.key[:10],
            created_at=now,
            scopes=new.scopes,
            expires_at=new.expires_at,
            ip_allow=new.ip_allow,
            require_signature=new.require_signature,
            signing_secret=new.signing_secret,
        )
        .returning(api_keys.c.id)
    )
    return int(result.scalar_one())


async def find_by_hash(conn: AsyncConnection, key_hash: str) -> KeyRecord | None:
    result = await conn.execute(_select().where(api_keys.c.key_hash == key_hash))
    row = result.mappings().first()
    return KeyRecord(**row) if row else None


async def find_by_id(conn: AsyncConnection, key_id: int) -> KeyRecord | None:
    result = await conn.execute(_select().where(api_keys.c.id == key_id))
    row = result.mappings().first()
    return KeyRecord(**row) if row else None


async def list_keys(conn: AsyncConnection, account_id: int | None = None) -> list[KeyRecord]:
    query = _select().order_by(api_keys.c.id)
    if account_id is not None:
        query = query.where(api_keys.c.account_id == account_id)
    return [KeyRecord(**row) for row in (await conn.execute(query)).mappings()]


async def revoke_key(conn: AsyncConnection, key_id: int, now: int) -> bool:
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)
