"""Accounts: create, list, show, suspend and resume (CLI and admin API)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy.exc import IntegrityError

from smsbridge.core.encoding import Language
from smsbridge.core.errors import (
    Conflict,
    Forbidden,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from smsbridge.core.sender import validate_sender
from smsbridge.services.keys import CreatedKey, KeyService
from smsbridge.store import accounts as repo
from smsbridge.store import audit
from smsbridge.store.db import Database, now_us

log = logging.getLogger(__name__)
MAX_FAILED_LOGINS = 5
LOCKOUT_US = 15 * 60 * 1_000_000
LOGIN_TOKEN_SECONDS = 3600

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class AccountService:
    def __init__(
        self, db: Database, keys: KeyService, on_change: Callable[[], None] = lambda: None
    ) -> None:
        self.db = db
        self.keys = keys
        self.on_change = on_change  # cached account policies are stale
        self.hasher = PasswordHasher()

    async def create(
        self,
        name: str,
        *,
        email: str | None = None,
        password: str | None = None,
        region: str | None = None,
        sender: str | None = None,
        timezone: str = "UTC",
        actor: str = "cli",
    ) -> repo.AccountRecord:
        if not _NAME.fullmatch(name):
            raise ValidationFailed(
                f"Invalid account name {name!r}: use letters, digits, '.', '-' or '_' "
                "(up to 100 characters, starting with a letter or digit).",
                code="invalid_account_name",
            )
        if email is not None and not _EMAIL.fullmatch(email):
            raise ValidationFailed(f"Invalid email address {email!r}.", code="invalid_email")
        if password is not None and len(password) < 8:
            raise ValidationFailed(
                "The password is too short: use at least 8 characters.", code="weak_password"
            )
        if region is not None:
            region = _region(region)
        if sender is not None:
            sender = validate_sender(sender)
        timezone = _timezone(timezone)
        password_hash = self.hasher.hash(password) if password is not None else None
        now = now_us()
        try:
            async with self.db.write() as conn:
                if await repo.find(conn, name) is not None:
                    raise Conflict(f"An account named {name!r} exists already.",
                                   code="account_exists")  # fmt: skip
                if email is not None and await repo.find_by_email(conn, email) is not None:
                    raise Conflict(f"Another account uses {email!r}.", code="email_taken")
                account_id = await repo.create_account(
                    conn, name=name, email=email, password_hash=password_hash, region=region,
                    sender=sender, timezone=timezone, now=now,
                )  # fmt: skip
                await audit.record(
                    conn, actor=actor, action="account.created", account_id=account_id,
                    now=now, name=name,
                )  # fmt: skip
        except IntegrityError:
            raise Conflict(
                f"An account named {name!r} or with that email exists already.",
                code="account_exists",
            ) from None
        return await self.get(name)

    async def get(self, name: str) -> repo.AccountRecord:
        async with self.db.read() as conn:
            return await repo.require(conn, name)

    async def list(self) -> list[repo.AccountRecord]:
        async with self.db.read() as conn:
            return await repo.list_accounts(conn)

    async def set_rate_limit(self, name: str, rate: int | None, *, actor: str = "cli") -> None:
        """Requests per second per key of this account (None: the gateway default)."""
        await self.set_limits(name, {"rate_limit": rate}, actor=actor)

    async def set_limits(
        self, name: str, values: dict[str, int | None], *, actor: str = "cli"
    ) -> None:
        """Change ``rate_limit`` (requests/s per key, None: default), ``reload_window``
        (seconds, 0: off) and ``daily_cap`` (per number per day, None: no cap)."""
        bounds = {"rate_limit": 1_000_000, "reload_window": 7 * 86400, "daily_cap": 1_000_000}
        for field_name, value in values.items():
            if field_name not in bounds:
                raise ValidationFailed(f"Unknown limit {field_name!r}.", code="invalid_limit")
            if value is None and field_name == "reload_window":
                raise ValidationFailed("reload_window needs a number (0 turns it off).",
                                       code="invalid_limit")  # fmt: skip
            if value is not None and not 0 <= value <= bounds[field_name]:
                raise ValidationFailed(
                    f"{field_name} must be between 0 and {bounds[field_name]}.",
                    code="invalid_limit",
                )
        record = await self.get(name)
        now = now_us()
        async with self.db.write() as conn:
            await repo.set_limits(conn, record.id, values)
            await audit.record(conn, actor=actor, action="limits.changed", account_id=record.id,
                               now=now, **values)  # fmt: skip
        self.keys.forget()
        self.on_change()

    async def login(self, email: str, password: str, *, client: str | None) -> CreatedKey:
        """Email and password -> a key valid for an hour. Failures in a row lock the login."""
        now = now_us()
        async with self.db.write() as conn:
            state = await repo.login_state(conn, email)
            if state is None or state.password_hash is None:
                log.warning("login failed for unknown %s from %s", email, client)
                raise _bad_login()
            locked_for = None
            if state.locked_until is not None and state.locked_until > now:
                locked_for = (state.locked_until - now) // 1_000_000 + 1
                action = "login.refused_locked"  # the password is not even checked
            elif self._password_matches(state.password_hash, password):
                await repo.record_login(conn, state.id, failed=0, locked_until=None)
                action = "login.succeeded"
            else:
                failed = state.failed_logins + 1
                locked = now + LOCKOUT_US if failed >= MAX_FAILED_LOGINS else None
                await repo.record_login(
                    conn, state.id, failed=0 if locked else failed, locked_until=locked
                )
                action = "login.locked" if locked else "login.failed"
                log.warning("%s for %s from %s", action, email, client)
            await audit.record(conn, actor=f"login:{email}", action=action,
                               account_id=state.id, now=now, client=client)  # fmt: skip
        # Refusals are raised after the commit, so they stay in the audit log.
        if locked_for is not None:
            raise TooManyRequests(
                f"Too many failed logins; try again in {locked_for} s.",
                code="login_locked",
                headers={"Retry-After": str(locked_for)},
            )
        if action != "login.succeeded":
            raise _bad_login()
        if state.status != "active":
            raise Forbidden(f"The account {state.name!r} is suspended.", code="account_suspended")
        return await self.keys.create(
            account=state.name, name="login", expires=f"{LOGIN_TOKEN_SECONDS}s",
            actor=f"login:{email}",
        )  # fmt: skip

    async def update(
        self,
        name: str,
        *,
        region: str | None = None,
        sender: str | None = None,
        timezone: str | None = None,
        languages: str | None = None,
        actor: str = "cli",
    ) -> repo.AccountRecord:
        """Change the defaults of an account; what is not given stays. An empty string clears
        region, sender or languages."""
        values: dict[str, str | None] = {}
        if region is not None:
            values["default_region"] = _region(region) if region else None
        if sender is not None:
            values["default_sender"] = validate_sender(sender) if sender else None
        if timezone is not None:
            values["timezone"] = _timezone(timezone)
        if languages is not None:
            chosen = [p.strip().lower() for p in languages.split(",") if p.strip()]
            unknown = [p for p in chosen if p not in {lang.value for lang in Language}]
            if unknown:
                raise ValidationFailed(
                    f"Unknown language(s) {', '.join(unknown)}; use turkish, spanish, portuguese.",
                    code="invalid_languages",
                )
            values["national_languages"] = ",".join(chosen) or None
        record = await self.get(name)
        if values:
            now = now_us()
            async with self.db.write() as conn:
                await repo.set_profile(conn, record.id, values)
                await audit.record(conn, actor=actor, action="account.updated",
                                   account_id=record.id, now=now, **values)  # fmt: skip
            self.keys.forget()
            self.on_change()
        return await self.get(name)

    def _password_matches(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(password_hash, password))
        except (VerifyMismatchError, InvalidHashError):
            return False

    async def set_status(self, name: str, status: str, *, actor: str = "cli") -> repo.AccountRecord:
        record = await self.get(name)
        now = now_us()
        async with self.db.write() as conn:
            await repo.set_status(conn, record.id, status)
            action = "account.suspended" if status == "suspended" else "account.resumed"
            await audit.record(conn, actor=actor, action=action, account_id=record.id, now=now)
        self.keys.forget()
        return await self.get(name)


def _bad_login() -> Unauthorized:
    return Unauthorized(
        "Wrong email or password. After 5 failures in a row the login is locked for 15 minutes.",
        code="invalid_login",
    )


def _region(value: str) -> str:
    region = value.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationFailed(
            f"Unknown region {value!r}: use an ISO 3166 country code such as DE.",
            code="invalid_region",
        )
    return region


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"Unknown time zone {value!r}: use an IANA name such as Europe/Berlin.",
            code="invalid_timezone",
        ) from None
    return value
