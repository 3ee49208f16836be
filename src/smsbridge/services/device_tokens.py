"""JWTs of the SMSGate integrator API: issued per account with scopes, signed with the
account's own secret, refreshed and revoked (``POST /auth/token`` and friends)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from smsbridge.config import Settings
from smsbridge.core import jwt
from smsbridge.core.errors import NotFound, Unauthorized, ValidationFailed
from smsbridge.services.device_accounts import DeviceAccounts
from smsbridge.services.ttl_cache import TtlCache
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


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: str
    access_token: str
    refresh_token: str
    expires_at: int  # unix seconds


class IntegratorTokens:
    def __init__(self, settings: Settings, db: Database, accounts: DeviceAccounts) -> None:
        self.settings = settings
        self.db = db
        self.accounts = accounts
        self._revoked: TtlCache[str, bool] = TtlCache(settings.auth_cache_seconds)

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
        creds = await self.accounts.ensure(account_id)
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
