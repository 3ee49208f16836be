"""An account's SMSGate identity: the private token phones register with, the login and
password of the integrator API, the phone settings, and integrator webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import string
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from smsbridge.config import Settings
from smsbridge.core.device_settings import check_settings, defaults, merge_settings
from smsbridge.core.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from smsbridge.core.ids import nanoid
from smsbridge.services.caller import Caller
from smsbridge.services.ttl_cache import TtlCache
from smsbridge.store import accounts as account_store
from smsbridge.store import devices as store
from smsbridge.store.db import Database, now_us

CODE_TTL_US = 10 * 60 * 1_000_000
NO_PASSWORD = ""  # the password hash of credentials whose password was never handed out


@dataclass(frozen=True, slots=True)
class Credentials:
    account_id: int
    private_token: str
    login: str
    password: str | None  # only when just made


def _login() -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(6))


def _password() -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(14))


class DeviceAccounts:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.hasher = PasswordHasher()
        # (login, password) digest -> account id, or None for a refused pair.
        self._basic: TtlCache[str, int | None] = TtlCache(max(1.0, settings.auth_cache_seconds * 5))

    # ------------------------------------------------------------------ credentials

    async def ensure(self, account_id: int) -> Credentials:
        """The account's SMSGate credentials, made on first use without a password: the first
        phone to register gets one to show (:meth:`first_password`)."""
        async with self.db.write() as conn:
            row = await store.credentials(conn, account_id)
            if row is not None:
                return Credentials(account_id, row["private_token"], row["login"], None)
            login = _login()
            while await store.credentials_by_login(conn, login) is not None:
                login = _login()
            token = secrets.token_urlsafe(24)
            await store.add_credentials(
                conn,
                account_id,
                private_token=token,
                login=login,
                password_hash=NO_PASSWORD,
                jwt_secret=secrets.token_hex(32),
                now=now_us(),
            )
        return Credentials(account_id, token, login, None)

    async def first_password(self, account_id: int) -> str | None:
        """A password for an account that never had one (shown once, by the registering
        phone); None when it has one: a registration never changes existing credentials."""
        password = _password()
        hashed = await asyncio.to_thread(self.hasher.hash, password)
        async with self.db.write() as conn:
            if not await store.set_first_password(conn, account_id, hashed, NO_PASSWORD):
                return None
        self._basic.clear()
        return password

    async def token_for(self, account_name: str, *, rotate: bool = False) -> Credentials:
        """The private token of an account (by name), made or replaced on request."""
        async with self.db.read() as conn:
            account = await account_store.require(conn, account_name)
        creds = await self.ensure(account.id)
        if rotate:
            token = secrets.token_urlsafe(24)
            async with self.db.write() as conn:
                await store.update_credentials(conn, account.id, private_token=token)
            creds = Credentials(account.id, token, creds.login, creds.password)
        return creds

    async def reset_password(self, account_id: int) -> Credentials:
        creds = await self.ensure(account_id)
        password = _password()
        hashed = await asyncio.to_thread(self.hasher.hash, password)
        async with self.db.write() as conn:
            await store.update_credentials(conn, account_id, password_hash=hashed)
        self._basic.clear()
        return Credentials(account_id, creds.private_token, creds.login, password)

    async def account_of_private_token(self, token: str) -> int | None:
        async with self.db.read() as conn:
            return await store.account_of_token(conn, token)

    async def verify_basic(self, login: str, password: str) -> int:
        """The account whose integrator login this is; 401 otherwise."""
        key = hashlib.sha256(f"{login}\0{password}".encode()).hexdigest()
        found, account_id = self._basic.get(key)
        if found and account_id is not None:
            return account_id
        if found:  # refused moments ago: no second hash
            raise Unauthorized("Invalid login or password.", code="invalid_credentials")
        async with self.db.read() as conn:
            row = await store.credentials_by_login(conn, login)
        ok = row is not None and await self._password_ok(row["password_hash"], password)
        if row is None or not ok:
            self._basic.put(key, None)
            raise Unauthorized("Invalid login or password.", code="invalid_credentials")
        self._basic.put(key, row["account_id"])
        return int(row["account_id"])

    async def _password_ok(self, password_hash: str, password: str) -> bool:
        """Checked on a thread: an argon2 hash takes tens of milliseconds."""
        if password_hash == NO_PASSWORD:
            return False

        def verify() -> bool:
            try:
                return bool(self.hasher.verify(password_hash, password))
            except (VerificationError, InvalidHashError):
                return False

        ok: bool = await asyncio.to_thread(verify)
        return ok

    async def change_password(self, account_id: int, current: str, new: str) -> None:
        if len(new) < 14:
            raise ValidationFailed(
                "The new password needs at least 14 characters.", code="password_too_short"
            )
        async with self.db.read() as conn:
            row = await store.credentials(conn, account_id)
        if row is None or not await self._password_ok(row["password_hash"], current):
            raise Unauthorized("The current password is wrong.", code="invalid_credentials")
        hashed = await asyncio.to_thread(self.hasher.hash, new)
        async with self.db.write() as conn:
            await store.update_credentials(conn, account_id, password_hash=hashed)
        self._basic.clear()

    async def one_time_code(self, account_id: int) -> tuple[str, int]:
        """A 6-digit code that registers one more phone to the account, and its expiry."""
        valid_until = now_us() + CODE_TTL_US
        async with self.db.write() as conn:
            while True:
                code = f"{secrets.randbelow(1_000_000):06d}"
                try:
                    async with conn.begin_nested():
                        await store.add_code(conn, account_id, code, valid_until)
                    break
                except IntegrityError:  # taken: draw again
                    continue
        return code, valid_until

    async def use_code(self, code: str) -> int | None:
        async with self.db.write() as conn:
            return await store.use_code(conn, code, now_us())

    async def caller(self, account_id: int) -> Caller:
        async with self.db.read() as conn:
            account = await account_store.by_id(conn, account_id)
        if account is None:
            raise Unauthorized("The account is gone.", code="invalid_credentials")
        if account.status != "active":
            raise Forbidden(f"The account {account.name!r} is suspended.", code="account_suspended")
        return Caller.of_account(account)

    # ------------------------------------------------------------------ settings

    async def settings_of(self, account_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = await store.credentials(conn, account_id)
        return merge_settings(self._defaults(), (row or {}).get("settings") or {})

    async def update_settings(self, account_id: int, body: Any, *, partial: bool) -> dict[str, Any]:
        changes = check_settings(body)
        await self.ensure(account_id)
        async with self.db.write() as conn:
            row = await store.credentials(conn, account_id)
            assert row is not None
            current = row["settings"] or {}
            stored = merge_settings(current, changes) if partial else changes
            await store.update_credentials(conn, account_id, settings=stored)
        return merge_settings(self._defaults(), stored)

    def _defaults(self) -> dict[str, Any]:
        return defaults(self.settings.devices_ping_interval_seconds)

    # ------------------------------------------------------------------ integrator webhooks

    async def webhooks(self, account_id: int) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            return await store.webhooks_of(conn, account_id)

    async def put_webhook(
        self, account_id: int, webhook_id: str | None, url: str, event: str, device_id: str | None
    ) -> dict[str, Any]:
        webhook_id = webhook_id or nanoid()
        async with self.db.write() as conn:
            if device_id is not None and await store.get(conn, account_id, device_id) is None:
                raise NotFound(f"No device {device_id!r} in this account.", code="device_not_found")
            await store.put_device_webhook(
                conn, account_id, webhook_id, url, event, device_id, now_us()
            )
        return {"id": webhook_id, "url": url, "event": event, "deviceId": device_id}

    async def delete_webhook(self, account_id: int, webhook_id: str) -> bool:
        async with self.db.write() as conn:
            return await store.delete_device_webhook(conn, account_id, webhook_id)
