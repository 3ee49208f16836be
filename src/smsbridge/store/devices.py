"""Phones registered to accounts: records, liveness, and the accounts' SMSGate credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.core.timefmt import iso
from smsbridge.store import device_queue, journal
from smsbridge.store.schema import (
    device_accounts,
    device_codes,
    device_messages,
    device_webhooks,
    devices,
    revoked_tokens,
)

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewDevice:
    id: str
    account_id: int
    name: str
    token_hash: str
    push_token: str | None
    sims: list[dict[str, Any]]
    app_version: str | None
    signing_key: str


def _decode(row: Any) -> Row:
    out = dict(row)
    out["sims"] = orjson.loads(out["sims"] or "[]")
    out["settings"] = orjson.loads(out["settings"]) if out.get("settings") else None
    return out


async def add(conn: AsyncConnection, device: NewDevice, now: int) -> None:
    await conn.execute(
        insert(devices).values(
            id=device.id,
            account_id=device.account_id,
            name=device.name,
            token_hash=device.token_hash,
            push_token=device.push_token,
            sims=orjson.dumps(device.sims).decode(),
            app_version=device.app_version,
            signing_key=device.signing_key,
            created_at=now,
            updated_at=now,
            last_seen=now,
            online=True,
        )
    )
    await _journal(conn, device.account_id, device.id, device.name, journal.DEVICE_ONLINE, now)


async def by_token(conn: AsyncConnection, token_hash: str) -> Row | None:
    query = select(devices).where(
        devices.c.token_hash == token_hash, devices.c.deleted_at.is_(None)
    )
    row = (await conn.execute(query)).mappings().first()
    return _decode(row) if row is not None else None


async def by_id(conn: AsyncConnection, device_id: str) -> Row | None:
    query = select(devices).where(devices.c.id == device_id, devices.c.deleted_at.is_(None))
    row = (await conn.execute(query)).mappings().first()
    return _decode(row) if row is not None else None


async def any_device(conn: AsyncConnection) -> bool:
    result = await conn.execute(select(devices.c.id).where(devices.c.deleted_at.is_(None)).limit(1))
    return result.first() is not None


async def get(conn: AsyncConnection, account_id: int, device_id: str) -> Row | None:
    row = (
        await conn.execute(
            select(devices).where(
                devices.c.id == device_id,
                devices.c.account_id == account_id,
                devices.c.deleted_at.is_(None),
            )
        )
    ).mappings().first()  # fmt: skip
    return _decode(row) if row is not None else None


async def list_for(conn: AsyncConnection, account_id: int) -> list[Row]:
    """The account's phones, each with how many messages it holds (``queued``)."""
    load = (
        select(device_messages.c.device_id, func.count().label("n"))
        .where(device_messages.c.state.in_(device_queue.OPEN))
        .group_by(device_messages.c.device_id)
        .subquery()
    )
    result = await conn.execute(
        select(devices, func.coalesce(load.c.n, 0).label("queued"))
        .outerjoin(load, load.c.device_id == devices.c.id)
        .where(devices.c.account_id == account_id, devices.c.deleted_at.is_(None))
        .order_by(devices.c.created_at, devices.c.id)
    )
    return [_decode(row) for row in result.mappings()]


async def update_device(
    conn: AsyncConnection,
    device_id: str,
    now: int,
    *,
    push_token: str | None = None,
    sims: list[dict[str, Any]] | None = None,
    name: str | None = None,
    settings: dict[str, Any] | None = None,
) -> None:
    values: dict[str, Any] = {"updated_at": now}
    if push_token is not None:
        values["push_token"] = push_token
    if sims is not None:
        values["sims"] = orjson.dumps(sims).decode()
    if name is not None:
        values["name"] = name
    if settings is not None:
        values["settings"] = orjson.dumps(settings).decode() if settings else None
    await conn.execute(update(devices).where(devices.c.id == device_id).values(**values))


async def remove(conn: AsyncConnection, account_id: int, device_id: str, now: int) -> bool:
    result = await conn.execute(
        update(devices)
        .where(
            devices.c.id == device_id,
            devices.c.account_id == account_id,
            devices.c.deleted_at.is_(None),
        )
        .values(deleted_at=now, online=False, updated_at=now)
    )
    return bool(result.rowcount)


async def seen(conn: AsyncConnection, device: Row, now: int) -> None:
    """The phone called in: it is online (a ``device.online`` event if it was not)."""
    await conn.execute(
        update(devices).where(devices.c.id == device["id"]).values(last_seen=now, online=True)
    )
    if not device["online"]:
        await _journal(
            conn, device["account_id"], device["id"], device["name"], journal.DEVICE_ONLINE, now
        )


async def mark_offline(conn: AsyncConnection, *, silent_since: int, now: int) -> list[Row]:
    """Phones not heard from since ``silent_since`` go offline (one event each)."""
    result = await conn.execute(
        update(devices)
        .where(
            devices.c.online.is_(True),
            devices.c.last_seen < silent_since,
            devices.c.deleted_at.is_(None),
        )
        .values(online=False)
        .returning(devices.c.id, devices.c.account_id, devices.c.name, devices.c.last_seen)
    )
    gone = [dict(row) for row in result.mappings()]
    for row in gone:
        await _journal(
            conn, row["account_id"], row["id"], row["name"], journal.DEVICE_OFFLINE, now,
            last_seen=row["last_seen"],
        )  # fmt: skip
    return gone


async def _journal(
    conn: AsyncConnection,
    account_id: int,
    device_id: str,
    name: str,
    kind: str,
    now: int,
    last_seen: int | None = None,
) -> None:
    seen = last_seen if last_seen is not None else now
    data: dict[str, Any] = {"device_id": device_id, "name": name, "last_seen": iso(seen)}
    await journal.append(conn, account_id=account_id, kind=kind, at=now, data=data)


async def online_for(conn: AsyncConnection, account_id: int) -> list[Row]:
    """The account's online phones with their SIMs and open queue length, oldest first."""
    rows = await list_for(conn, account_id)
    return [row for row in rows if row["online"]]


# ---------------------------------------------------------------- per-account credentials


async def account_of_token(conn: AsyncConnection, private_token: str) -> int | None:
    result = await conn.execute(
        select(device_accounts.c.account_id).where(device_accounts.c.private_token == private_token)
    )
    return result.scalar()


async def credentials(conn: AsyncConnection, account_id: int) -> Row | None:
    query = select(device_accounts).where(device_accounts.c.account_id == account_id)
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out["settings"] = orjson.loads(out["settings"]) if out["settings"] else None
    return out


async def credentials_by_login(conn: AsyncConnection, login: str) -> Row | None:
    row = (
        await conn.execute(select(device_accounts).where(device_accounts.c.login == login))
    ).mappings().first()  # fmt: skip
    return dict(row) if row is not None else None


async def add_credentials(
    conn: AsyncConnection,
    account_id: int,
    *,
    private_token: str,
    login: str,
    password_hash: str,
    jwt_secret: str,
    now: int,
) -> None:
    await conn.execute(
        insert(device_accounts).values(
            account_id=account_id,
            private_token=private_token,
            login=login,
            password_hash=password_hash,
            jwt_secret=jwt_secret,
            created_at=now,
        )
    )


async def update_credentials(conn: AsyncConnection, account_id: int, **values: Any) -> None:
    if "settings" in values and values["settings"] is not None:
        values["settings"] = orjson.dumps(values["settings"]).decode()
    await conn.execute(
        update(device_accounts).where(device_accounts.c.account_id == account_id).values(**values)
    )


async def set_first_password(
    conn: AsyncConnection, account_id: int, password_hash: str, unset: str
) -> bool:
    result = await conn.execute(
        update(device_accounts)
        .where(device_accounts.c.account_id == account_id, device_accounts.c.password_hash == unset)
        .values(password_hash=password_hash)
    )
    return bool(result.rowcount)


async def add_code(conn: AsyncConnection, account_id: int, code: str, valid_until: int) -> None:
    await conn.execute(
        insert(device_codes).values(code=code, account_id=account_id, valid_until=valid_until)
    )


async def use_code(conn: AsyncConnection, code: str, now: int) -> int | None:
    """The account a one-time code registers to (the code is spent)."""
    await conn.execute(delete(device_codes).where(device_codes.c.valid_until < now))
    result = await conn.execute(
        delete(device_codes)
        .where(and_(device_codes.c.code == code, device_codes.c.valid_until >= now))
        .returning(device_codes.c.account_id)
    )
    return result.scalar()


async def is_revoked(conn: AsyncConnection, jti: str) -> bool:
    result = await conn.execute(select(revoked_tokens.c.jti).where(revoked_tokens.c.jti == jti))
    return result.first() is not None


async def revoke_token(conn: AsyncConnection, jti: str, expires_at: int) -> None:
    if not await is_revoked(conn, jti):
        await conn.execute(insert(revoked_tokens).values(jti=jti, expires_at=expires_at))


async def prune_revoked(conn: AsyncConnection, now: int) -> None:
    await conn.execute(delete(revoked_tokens).where(revoked_tokens.c.expires_at < now))


# ---------------------------------------------------------------- integrator webhooks


async def webhooks_of(conn: AsyncConnection, account_id: int) -> list[Row]:
    result = await conn.execute(
        select(device_webhooks)
        .where(device_webhooks.c.account_id == account_id)
        .order_by(device_webhooks.c.created_at, device_webhooks.c.id)
    )
    return [
        {"id": r["id"], "url": r["url"], "event": r["event"], "deviceId": r["device_id"]}
        for r in result.mappings()
    ]


async def put_device_webhook(
    conn: AsyncConnection,
    account_id: int,
    webhook_id: str,
    url: str,
    event: str,
    device_id: str | None,
    now: int,
) -> None:
    """Create or replace (by id) an integrator webhook."""
    await conn.execute(
        delete(device_webhooks).where(
            device_webhooks.c.account_id == account_id, device_webhooks.c.id == webhook_id
        )
    )
    await conn.execute(
        insert(device_webhooks).values(
            account_id=account_id, id=webhook_id, url=url, event=event, device_id=device_id,
            created_at=now,
        )
    )  # fmt: skip


async def delete_device_webhook(conn: AsyncConnection, account_id: int, webhook_id: str) -> bool:
    result = await conn.execute(
        delete(device_webhooks).where(
            device_webhooks.c.account_id == account_id, device_webhooks.c.id == webhook_id
        )
    )
    return bool(result.rowcount)
