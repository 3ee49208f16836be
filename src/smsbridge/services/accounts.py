"""Accounts: create, list, show, suspend and resume (CLI and admin API)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from argon2 import PasswordHasher
from sqlalchemy.exc import IntegrityError

from smsbridge.core.errors import Conflict, NotFound, ValidationFailed
from smsbridge.core.sender import validate_sender
from smsbridge.services.keys import KeyService
from smsbridge.store import accounts as repo
from smsbridge.store import audit
from smsbridge.store.db import Database, now_us

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class AccountService:
    def __init__(self, db: Database, keys: KeyService) -> None:
        self.db = db
        self.keys = keys
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
            region = region.upper()
            if region not in phonenumbers.SUPPORTED_REGIONS:
                raise ValidationFailed(
                    f"Unknown region {region!r}: use an ISO 3166 country code such as DE.",
                    code="invalid_region",
                )
        if sender is not None:
            sender = validate_sender(sender)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationFailed(
                f"Unknown time zone {timezone!r}: use an IANA name such as Europe/Berlin.",
                code="invalid_timezone",
            ) from None
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
            record = await repo.find(conn, name)
        if record is None:
            raise NotFound(
                f"No account named {name!r}; see `smsbridge accounts list`.",
                code="account_not_found",
            )
        return record

    async def list(self) -> list[repo.AccountRecord]:
        async with self.db.read() as conn:
            return await repo.list_accounts(conn)

    async def set_status(self, name: str, status: str, *, actor: str = "cli") -> repo.AccountRecord:
        record = await self.get(name)
        now = now_us()
        async with self.db.write() as conn:
            await repo.set_status(conn, record.id, status)
            action = "account.suspended" if status == "suspended" else "account.resumed"
            await audit.record(conn, actor=actor, action=action, account_id=record.id, now=now)
        self.keys.forget()
        return await self.get(name)
