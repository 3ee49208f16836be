"""Tracked links and file attachments in message texts (seven.io's ``performance_tracking``
and ``files``).

Tracking replaces every URL of a text with a short link served by smsbridge (``/l/CODE``);
each click is counted, redirected to the original URL, and becomes a ``link.clicked`` event.
Attachments are stored and ``[[name]]`` in the text becomes a download link (``/f/CODE``; at
the end of the text when the placeholder is missing) that works for the given number of days,
optionally behind a password.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from smsbridge.core.errors import NotFound, PayloadTooLarge, Unauthorized, ValidationFailed
from smsbridge.store import journal, links
from smsbridge.store.db import Database, now_us

URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_ALPHABET = string.ascii_letters + string.digits
_DAY_US = 24 * 3600 * 1_000_000
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 10
MAX_VALIDITY_DAYS = 365


def _code(size: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(size))


@dataclass(frozen=True, slots=True)
class FileUpload:
    name: str
    contents: str  # base64
    validity_days: int | None = None
    password: str | None = None


class LinkService:
    def __init__(self, db: Database, on_event: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self.on_event = on_event
        self.hasher = PasswordHasher()

    # -- tracked links -------------------------------------------------------------------------

    async def track(
        self, account_id: int, text: str, base_url: str, label: str | None
    ) -> tuple[str, list[str]]:
        """The text with each URL replaced by a short link, and the links' codes (attach them
        to the message once it is accepted)."""
        rows: list[dict[str, Any]] = []
        now = now_us()

        def replace(match: re.Match[str]) -> str:
            code = _code(8)
            rows.append({"code": code, "account_id": account_id, "message_id": 0,
                         "url": match.group(0), "label": label, "created_at": now})  # fmt: skip
            return f"{base_url}/l/{code}"

        tracked = URL.sub(replace, text)
        if rows:
            async with self.db.write() as conn:
                await links.add_links(conn, rows)
        return tracked, [r["code"] for r in rows]

    async def attach(self, codes: list[str], message_id: int) -> None:
        if codes:
            async with self.db.write() as conn:
                await links.attach_links(conn, codes, message_id)

    async def click(self, code: str, base_url: str) -> str:
        """Count a click and give the URL to redirect to; the click is an event."""
        now = now_us()
        async with self.db.write() as conn:
            row = await links.click(conn, code, now)
            if row is None:
                raise NotFound("This link does not exist.", code="link_not_found")
            recipient = await links.first_recipient(conn, row["message_id"])
            await journal.append(
                conn, account_id=row["account_id"], kind=journal.LINK_CLICKED, at=now,
                ref=row["message_id"], data={
                    "message_id": str(row["message_id"]),
                    "recipient_id": str(recipient) if recipient is not None else None,
                    "url": row["url"], "tracking_url": f"{base_url}/l/{code}",
                    "label": row["label"], "clicks": row["clicks"],
                },
            )  # fmt: skip
        self.on_event()
        return str(row["url"])

    # -- attachments ---------------------------------------------------------------------------

    async def attach_files(
        self, account_id: int, text: str, files: list[FileUpload], base_url: str
    ) -> str:
        """Store the files and put their download links where the text says ``[[name]]``."""
        if len(files) > MAX_FILES:
            raise ValidationFailed(f"At most {MAX_FILES} files per message.", code="too_many_files")
        rows = []
        now = now_us()
        for upload in files:
            if not upload.name:
                raise ValidationFailed("Each file needs a `name`.", code="invalid_file")
            try:
                content = base64.b64decode(upload.contents, validate=True)
            except (binascii.Error, ValueError):
                raise ValidationFailed(
                    f"The contents of {upload.name!r} are not base64.", code="invalid_file"
                ) from None
            if len(content) > MAX_FILE_BYTES:
                raise PayloadTooLarge(
                    f"{upload.name!r} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB.",
                    code="file_too_large",
                )
            days = upload.validity_days if upload.validity_days is not None else 3
            if not 1 <= days <= MAX_VALIDITY_DAYS:
                raise ValidationFailed(
                    f"`validity` is a number of days from 1 to {MAX_VALIDITY_DAYS}.",
                    code="invalid_validity",
                )
            password = (
                await asyncio.to_thread(self.hasher.hash, upload.password)
                if upload.password
                else None
            )
            code = _code(12)
            rows.append({"code": code, "account_id": account_id, "name": upload.name[:255],
                         "content": content, "password_hash": password,
                         "valid_until": now + days * _DAY_US, "created_at": now})  # fmt: skip
            link = f"{base_url}/f/{code}"
            placeholder = f"[[{upload.name}]]"
            # Without its placeholder the link goes at the end, so it is not lost.
            text = text.replace(placeholder, link) if placeholder in text else f"{text} {link}"
        async with self.db.write() as conn:
            for row in rows:
                await links.add_attachment(conn, row)
        return text

    async def download(self, code: str, password: str | None) -> tuple[str, bytes]:
        async with self.db.read() as conn:
            row = await links.attachment(conn, code)
        if row is None or row["valid_until"] < now_us():
            raise NotFound("This file does not exist or is no longer available.",
                           code="file_not_found")  # fmt: skip
        protected: str | None = row["password_hash"]
        if protected and not (password and await self._matches(protected, password)):
            raise Unauthorized("This file is protected: give its password.", code="file_password")
        async with self.db.write() as conn:
            await links.count_download(conn, code)
        return str(row["name"]), bytes(row["content"])

    async def _matches(self, hashed: str, password: str) -> bool:
        def verify() -> bool:
            try:
                return bool(self.hasher.verify(hashed, password))
            except (VerifyMismatchError, InvalidHashError):
                return False

        return await asyncio.to_thread(verify)
