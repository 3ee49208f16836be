"""API keys: create (shown once), list, revoke, and authenticate requests."""

from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache

from smsbridge.core.encoding import parse_languages
from smsbridge.core.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from smsbridge.core.scopes import parse_scopes
from smsbridge.services.caller import Caller
from smsbridge.services.ttl_cache import TtlCache
from smsbridge.store import accounts, audit
from smsbridge.store import keys as repo
from smsbridge.store.db import Database, now_us

KEY_PREFIX = "sb_"
_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def parse_expiry(value: str | None, now: int) -> int | None:
    """``30d``, ``12h``, ``90m``, ``2w`` or an ISO 8601 time -> unix microseconds."""
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    match = _DURATION.fullmatch(text)
    if match:
        return now + int(match.group(1)) * _UNIT_SECONDS[match.group(2)] * 1_000_000
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            f"Invalid expiry {value!r}: give a duration such as 30d, 12h, 90m or an ISO 8601 "
            "time such as 2027-01-01T00:00:00Z.",
            code="invalid_expiry",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    expires = int(when.timestamp() * 1_000_000)
    if expires <= now:
        raise ValidationFailed("The expiry lies in the past.", code="invalid_expiry")
    return expires


def parse_networks(value: str | None) -> str | None:
    """Validate a comma-separated CIDR list and return it normalised (None: no restriction)."""
    if value is None or not value.strip():
        return None
    out = []
    for item in (p.strip() for p in value.split(",")):
        if not item:
            continue
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValidationFailed(
                f"Invalid address range {item!r} in the IP allowlist; use CIDRs such as "
                "203.0.113.0/24 or 2001:db8::/32, or single addresses.",
                code="invalid_ip_allow",
            ) from None
    return ",".join(out) or None


@lru_cache(maxsize=1024)
def _networks(value: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item) for item in value.split(","))


@dataclass(frozen=True, slots=True)
class CreatedKey:
    id: int
    key: str
    signing_secret: str | None


class KeyService:
    def __init__(self, db: Database, *, cache_seconds: float = 2.0) -> None:
        self.db = db
        self._cache: TtlCache[str, repo.KeyRecord | None] = TtlCache(cache_seconds)

    async def create(
        self,
        *,
        account: str = "default",
        name: str = "default",
        scopes: str | None = None,
        expires: str | None = None,
        ip_allow: str | None = None,
        require_signature: bool = False,
        actor: str = "cli",
    ) -> CreatedKey:
        now = now_us()
        key = generate_key()
        secret = secrets.token_hex(32) if require_signature else None
        new = repo.NewKey(
            account_id=0,
            name=name,
            key=key,
            scopes=",".join(parse_scopes(scopes)),
            expires_at=parse_expiry(expires, now),
            ip_allow=parse_networks(ip_allow),
            require_signature=require_signature,
            signing_secret=secret,
        )
        async with self.db.write() as conn:
            account_id = (await accounts.require(conn, account)).id
            key_id = await repo.create_key(conn, replace(new, account_id=account_id), now=now)
            await audit.record(
                conn, actor=actor, action="key.created", account_id=account_id, now=now,
                key_id=key_id, name=name, scopes=new.scopes,
            )  # fmt: skip
        return CreatedKey(key_id, key, secret)

    async def list(self, account: str | None = None) -> list[repo.KeyRecord]:
        async with self.db.read() as conn:
            account_id = None
            if account is not None:
                account_id = (await accounts.require(conn, account)).id
            return await repo.list_keys(conn, account_id)

    async def revoke(
        self, key_id: int, *, actor: str = "cli", account_id: int | None = None
    ) -> None:
        """Revoke a key (only within ``account_id`` when given)."""
        now = now_us()
        async with self.db.write() as conn:
            record = await repo.find_by_id(conn, key_id)
            if (
                record is None
                or record.revoked_at is not None
                or (account_id is not None and record.account_id != account_id)
            ):
                raise NotFound(
                    f"No active key with id {key_id}; see `smsbridge keys list`.",
                    code="key_not_found",
                )
            await repo.revoke_key(conn, key_id, now)
            await audit.record(
                conn, actor=actor, action="key.revoked", account_id=record.account_id, now=now,
                key_id=key_id,
            )  # fmt: skip
        self.forget()

    def forget(self) -> None:
        """Drop cached keys: after a revocation or a suspension in this process."""
        self._cache.clear()

    async def authenticate(self, key: str | None, client_ip: str | None = None) -> Caller:
        if not key:
            raise Unauthorized(
                "Missing API key: send `Authorization: Bearer <key>` or `X-Api-Key: <key>`; "
                "create one with `smsbridge keys create`.",
                code="missing_api_key",
            )
        record = await self._record(repo.hash_key(key))
        if record is None or record.revoked_at is not None:
            raise Unauthorized(
                "Invalid or revoked API key; check the key or create a new one with "
                "`smsbridge keys create`.",
                code="invalid_api_key",
            )
        if record.expires_at is not None and record.expires_at <= now_us():
            raise Unauthorized(
                "This API key has expired; create a new one with `smsbridge keys create`.",
                code="expired_api_key",
            )
        if record.account_status != "active":
            raise Forbidden(
                f"The account {record.account_name!r} is suspended; its keys work again once "
                "it is resumed.",
                code="account_suspended",
            )
        if record.ip_allow and not _allowed(record.ip_allow, client_ip):
            raise Forbidden(
                f"Requests with this key are not allowed from {client_ip or 'an unknown address'};"
                f" its IP allowlist is {record.ip_allow}.",
                code="ip_not_allowed",
            )
        return _caller(record)

    async def _record(self, digest: str) -> repo.KeyRecord | None:
        found, record = self._cache.get(digest)
        if not found:
            async with self.db.read() as conn:
                record = await repo.find_by_hash(conn, digest)
            self._cache.put(digest, record)
        return record


@lru_cache(maxsize=4096)
def _caller(record: repo.KeyRecord) -> Caller:
    return Caller(
        record.account_id,
        record.id,
        record.default_region,
        record.default_sender,
        parse_languages(record.national_languages),
        frozenset(parse_scopes(record.scopes)),
        record.rate_limit,
        record.signing_secret if record.require_signature else None,
    )


def _allowed(networks: str, client_ip: str | None) -> bool:
    if not client_ip:
        return False
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in network for network in _networks(networks))
