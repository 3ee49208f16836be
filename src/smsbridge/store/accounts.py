"""Accounts: the tenants of the gateway."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.core.errors import NotFound
from smsbridge.store.schema import accounts


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: int
    name: str
    email: str | None
    status: str
    default_region: str | None
    default_sender: str | None
    national_languages: str | None
    timezone: str
    created_at: int


_COLUMNS = (
    accounts.c.id, accounts.c.name, accounts.c.email, accounts.c.status,
    accounts.c.default_region, accounts.c.default_sender, accounts.c.national_languages,
    accounts.c.timezone, accounts.c.created_at,
)  # fmt: skip


async def create_account(
    conn: AsyncConnection,
    *,
    name: str,
    email: str | None,
    password_hash: str | None,
    region: str | None,
    sender: str | None,
    timezone: str,
    now: int,
) -> int:
    result = await conn.execute(
        insert(accounts)
        .values(
            name=name, email=email, password_hash=password_hash, default_region=region,
            default_sender=sender, timezone=timezone, created_at=now, status="active",
        )
        .returning(accounts.c.id)
    )  # fmt: skip
    return int(result.scalar_one())


async def find(conn: AsyncConnection, name: str) -> AccountRecord | None:
    row = (await conn.execute(select(*_COLUMNS).where(accounts.c.name == name))).first()
    return AccountRecord(*row) if row else None


async def by_id(conn: AsyncConnection, account_id: int) -> AccountRecord | None:
    row = (await conn.execute(select(*_COLUMNS).where(accounts.c.id == account_id))).first()
    return AccountRecord(*row) if row else None


async def require(conn: AsyncConnection, name: str) -> AccountRecord:
    """The account named ``name``, or a 404 that says how to list them."""
    record = await find(conn, name)
    if record is None:
        raise NotFound(
            f"No account named {name!r}; see `smsbridge accounts list`.",
            code="account_not_found",
        )
    return record


async def find_by_email(conn: AsyncConnection, email: str) -> AccountRecord | None:
    row = (await conn.execute(select(*_COLUMNS).where(accounts.c.email == email))).first()
    return AccountRecord(*row) if row else None


async def list_accounts(conn: AsyncConnection) -> list[AccountRecord]:
    rows = (await conn.execute(select(*_COLUMNS).order_by(accounts.c.id))).all()
    return [AccountRecord(*row) for row in rows]


async def set_limits(conn: AsyncConnection, account_id: int, values: dict[str, int | None]) -> None:
    """Change any of rate_limit, reload_window, daily_cap."""
    await conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))


@dataclass(frozen=True, slots=True)
class LoginState:
    id: int
    name: str
    status: str
    password_hash: str | None
    failed_logins: int
    locked_until: int | None


async def login_state(conn: AsyncConnection, email: str) -> LoginState | None:
    row = (
        await conn.execute(
            select(
                accounts.c.id, accounts.c.name, accounts.c.status, accounts.c.password_hash,
                accounts.c.failed_logins, accounts.c.locked_until,
            ).where(accounts.c.email == email)
        )
    ).first()  # fmt: skip
    return LoginState(*row) if row else None


async def record_login(
    conn: AsyncConnection, account_id: int, *, failed: int, locked_until: int | None
) -> None:
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(failed_logins=failed, locked_until=locked_until)
    )


async def set_profile(
    conn: AsyncConnection, account_id: int, values: dict[str, str | None]
) -> None:
    """Change any of default_region, default_sender, timezone, national_languages."""
    await conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))


async def set_status(conn: AsyncConnection, account_id: int, status: str) -> None:
    await conn.execute(update(accounts).where(accounts.c.id == account_id).values(status=status))


async def callback_secret(conn: AsyncConnection, account_id: int, new: str) -> str:
    """The secret signing the account's per-message callbacks, set to ``new`` if it has none."""
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id, accounts.c.callback_secret.is_(None))
        .values(callback_secret=new)
    )
    value = (
        await conn.execute(select(accounts.c.callback_secret).where(accounts.c.id == account_id))
    ).scalar()
    return str(value or new)


async def rotate_callback_secret(conn: AsyncConnection, account_id: int, new: str) -> None:
    await conn.execute(
        update(accounts).where(accounts.c.id == account_id).values(callback_secret=new)
    )
