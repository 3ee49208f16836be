"""An account's SMSGate identity: the private token phones register with, the login and
password (and JWTs) of the integrator API, the phone settings, and integrator webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from smsbridge.config import Settings
from smsbridge.core import jwt
from smsbridge.core.encoding import parse_languages
from smsbridge.core.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from smsbridge.services.caller import Caller
from smsbridge.services.ttl_cache import TtlCache
from smsbridge.store import accounts as account_store
from smsbridge.store import devices as store
from smsbridge.store.db import Database, now_us

# Scopes of the integrator API (Basic auth has them all).
SCOPES = (
    "devices:list", "devices:delete", "inbox:list", "inbox:refresh", "logs:read",
    "messages:cancel", "messages:send", "messages:read", "messages:list", "messages:export",
    "settings:read", "settings:write", "tokens:manage", "webhooks:list", "webhooks:write",
    "webhooks:delete",
)  # fmt: skip
ALL_SCOPES = "all:any"
CODE_TTL_US = 10 * 60 * 1_000_000
NO_PASSWORD = ""  # the password hash of credentials whose password was never handed out

# DeviceSettings sections and the keys each may hold, with their types.
SETTINGS_SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "messages": {
        "send_interval_min": (int,), "send_interval_max": (int,), "limit_period": (str,),
        "limit_value": (int,), "sim_selection_mode": (str,), "processing_order": (str,),
        "log_lifetime_days": (int,), "work_hours_enabled": (bool,), "work_hours_start": (str,),
        "work_hours_end": (str,),
    },
    "webhooks": {"internet_required": (bool,), "retry_count": (int,), "signing_key": (str,)},
    "gateway": {"cloud_url": (str,), "private_token": (str,), "notification_channel": (str,)},
    "encryption": {"passphrase": (str,)},
    "ping": {"interval_seconds": (int,)},
    "logs": {"lifetime_days": (int,)},
    "receiver": {"content_provider_enabled": (bool,)},
}  # fmt: skip
CHOICES = {
    ("messages", "limit_period"): ("Disabled", "PerMinute", "Per30Minutes", "PerHour", "PerDay"),
    ("messages", "sim_selection_mode"): ("OSDefault", "RoundRobin", "Random"),
    ("messages", "processing_order"): ("LIFO", "FIFO"),
    ("gateway", "notification_channel"): ("AUTO", "SSE_ONLY"),
}
# What the server alone decides (the integrator API neither shows nor takes them).
SERVER_OWNED = {("webhooks", "signing_key"), ("gateway", "cloud_url"), ("gateway", "private_token")}


@dataclass(frozen=True, slots=True)
class Credentials:
    account_id: int
    private_token: str
    login: str
    password: str | None  # only when just made


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: str
    access_token: str
    refresh_token: str
    expires_at: int  # unix seconds


def _login() -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(6))


def _password() -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(14))


def check_settings(body: Any, *, partial: bool) -> dict[str, dict[str, Any]]:
    """A DeviceSettings object, checked key by key (``partial``: only the keys given)."""
    if not isinstance(body, dict):
        raise ValidationFailed(
            "Settings must be a JSON object of sections.", code="invalid_settings"
        )
    out: dict[str, dict[str, Any]] = {}
    for section, values in body.items():
        keys = SETTINGS_SCHEMA.get(section)
        if keys is None:
            raise ValidationFailed(
                f"Unknown settings section {section!r}; known: {', '.join(SETTINGS_SCHEMA)}.",
                code="invalid_settings",
            )
        if values is None:
            continue
        if not isinstance(values, dict):
            raise ValidationFailed(
                f"Section {section!r} must be an object.", code="invalid_settings"
            )
        checked: dict[str, Any] = {}
        for key, value in values.items():
            if key not in keys:
                raise ValidationFailed(
                    f"Unknown setting {section}.{key}; known: {', '.join(keys)}.",
                    code="invalid_settings",
                )
            if (section, key) in SERVER_OWNED:
                continue
            if value is not None:
                wanted = keys[key]
                wrong_bool = isinstance(value, bool) and bool not in wanted
                if wrong_bool or not isinstance(value, wanted):
                    raise ValidationFailed(
                        f"{section}.{key} must be a {wanted[0].__name__}.", code="invalid_settings"
                    )
                choices = CHOICES.get((section, key))
                if choices is not None and value not in choices:
                    raise ValidationFailed(
                        f"{section}.{key} must be one of {', '.join(choices)}.",
                        code="invalid_settings",
                    )
                if isinstance(value, int) and not isinstance(value, bool) and value < 0:
                    raise ValidationFailed(f"{section}.{key} cannot be negative.",
                                           code="invalid_settings")  # fmt: skip
            checked[key] = value
        out[section] = checked
    del partial
    return out


def merge_settings(base: dict[str, Any], changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged = {section: dict(values) for section, values in base.items()}
    for section, values in changes.items():
        merged.setdefault(section, {}).update(values)
    return merged


class DeviceAccounts:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.hasher = PasswordHasher()
        # (login, password) digest -> account id, or None for a refused pair.
        self._basic: TtlCache[str, int | None] = TtlCache(max(1.0, settings.auth_cache_seconds * 5))
        self._revoked: TtlCache[str, bool] = TtlCache(settings.auth_cache_seconds)

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
        return Caller(
            account.id, None, account.default_region, account.default_sender,
            parse_languages(account.national_languages),
        )  # fmt: skip

    # ------------------------------------------------------------------ JWT

    async def issue_token(self, account_id: int, scopes: list[str], ttl: int | None) -> IssuedToken:
        unknown = [s for s in scopes if s not in SCOPES and s != ALL_SCOPES]
        if not scopes or unknown:
            raise ValidationFailed(
                f"Unknown scopes {unknown}; use some of {', '.join(SCOPES)}."
                if unknown
                else "Give at least one scope.",
                code="invalid_scopes",
            )
        lifetime = ttl or self.settings.devices_token_ttl_seconds
        if lifetime < 60 or lifetime > 366 * 86_400:
            raise ValidationFailed("ttl is seconds from 60 to a year.", code="invalid_ttl")
        creds = await self.ensure(account_id)
        async with self.db.read() as conn:
            row = await store.credentials(conn, creds.account_id)
        assert row is not None
        now = int(time.time())
        jti = f"{account_id}-{secrets.token_hex(10)}"
        claims = {"sub": str(account_id), "jti": jti, "iat": now, "exp": now + lifetime,
                  "scopes": scopes, "typ": "access"}  # fmt: skip
        refresh = {**claims, "jti": jti + "r", "exp": now + lifetime * 2, "typ": "refresh"}
        return IssuedToken(
            jti,
            jwt.encode(claims, row["jwt_secret"]),
            jwt.encode(refresh, row["jwt_secret"]),
            now + lifetime,
        )

    async def verify_jwt(self, token: str, *, refresh: bool = False) -> tuple[int, frozenset[str]]:
        try:
            claims = jwt.unverified_claims(token)
            account_id = int(claims.get("sub", ""))
        except (jwt.InvalidToken, ValueError):
            raise Unauthorized("Invalid token.", code="invalid_token") from None
        async with self.db.read() as conn:
            row = await store.credentials(conn, account_id)
        if row is None:
            raise Unauthorized("Invalid token.", code="invalid_token")
        try:
            claims = jwt.decode(token, row["jwt_secret"], now=int(time.time()))
        except jwt.InvalidToken as exc:
            raise Unauthorized(f"Invalid token: {exc}.", code="invalid_token") from None
        if claims.get("typ") != ("refresh" if refresh else "access"):
            raise Unauthorized("Wrong kind of token.", code="invalid_token")
        if await self._is_revoked(str(claims.get("jti"))):
            raise Unauthorized("The token was revoked.", code="revoked_token")
        scopes = claims.get("scopes")
        return account_id, frozenset(scopes if isinstance(scopes, list) else [])

    async def _is_revoked(self, jti: str) -> bool:
        found, revoked = self._revoked.get(jti)
        if found:
            return bool(revoked)
        async with self.db.read() as conn:
            result = await store.is_revoked(conn, jti)
        self._revoked.put(jti, result)
        return result

    async def revoke_own(self, account_id: int, jti: str) -> None:
        """Revoke one of the account's tokens (ids of other accounts' tokens are unknown)."""
        if not jti.startswith(f"{account_id}-") or len(jti) > 32:
            raise NotFound(f"No token {jti!r} of this account.", code="token_not_found")
        await self.revoke(jti)

    async def revoke(self, jti: str, expires_at_us: int | None = None) -> None:
        until = expires_at_us or now_us() + 366 * 86_400 * 1_000_000
        async with self.db.write() as conn:
            await store.revoke_token(conn, jti, until)
        self._revoked.discard(jti)

    async def refresh(self, refresh_token: str) -> IssuedToken:
        account_id, scopes = await self.verify_jwt(refresh_token, refresh=True)
        claims = jwt.unverified_claims(refresh_token)
        await self.revoke(str(claims["jti"]), int(claims["exp"]) * 1_000_000)
        ttl = int(claims["exp"]) - int(claims["iat"])
        return await self.issue_token(account_id, sorted(scopes), max(60, ttl // 2))

    # ------------------------------------------------------------------ settings

    async def settings_of(self, account_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = await store.credentials(conn, account_id)
        return self.defaults() if row is None else merge_settings(
            self.defaults(), row["settings"] or {}
        )  # fmt: skip

    def defaults(self) -> dict[str, Any]:
        return {
            "messages": {
                "send_interval_min": None, "send_interval_max": None, "limit_period": "Disabled",
                "limit_value": None, "sim_selection_mode": "OSDefault", "processing_order": "LIFO",
                "log_lifetime_days": None, "work_hours_enabled": False, "work_hours_start": None,
                "work_hours_end": None,
            },
            "webhooks": {"internet_required": True, "retry_count": 15},
            "gateway": {"notification_channel": "SSE_ONLY"},
            "encryption": {"passphrase": None},
            "ping": {"interval_seconds": self.settings.devices_ping_interval_seconds or None},
            "logs": {"lifetime_days": None},
            "receiver": {"content_provider_enabled": None},
        }  # fmt: skip

    async def update_settings(self, account_id: int, body: Any, *, partial: bool) -> dict[str, Any]:
        changes = check_settings(body, partial=partial)
        await self.ensure(account_id)
        async with self.db.write() as conn:
            row = await store.credentials(conn, account_id)
            assert row is not None
            current = row["settings"] or {}
            stored = merge_settings(current, changes) if partial else changes
            await store.update_credentials(conn, account_id, settings=stored)
        return merge_settings(self.defaults(), stored)

    # ------------------------------------------------------------------ integrator webhooks

    async def webhooks(self, account_id: int) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            return await store.webhooks_of(conn, account_id)

    async def put_webhook(
        self, account_id: int, webhook_id: str | None, url: str, event: str, device_id: str | None
    ) -> dict[str, Any]:
        webhook_id = webhook_id or secrets.token_urlsafe(15)[:21]
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
