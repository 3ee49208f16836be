"""Credits and prices: what a message costs, balances, top-ups, the ledger."""

from __future__ import annotations

from typing import Any

from smsbridge.core.errors import ValidationFailed
from smsbridge.core.pricing import to_micro
from smsbridge.services.ttl_cache import TtlCache
from smsbridge.store import audit
from smsbridge.store import billing as repo
from smsbridge.store.db import Database, now_us

REFUND_POLICIES = ("unsent", "none")


class BillingService:
    def __init__(self, db: Database, *, cache_seconds: float = 2.0) -> None:
        self.db = db
        self._cache: TtlCache[int, repo.Billing] = TtlCache(cache_seconds)

    def forget(self) -> None:
        self._cache.clear()

    async def billing(self, account_id: int) -> repo.Billing:
        """The account's prices and policy (cached briefly; changes here apply at once)."""
        found, billing = self._cache.get(account_id)
        if found and billing is not None:
            return billing
        async with self.db.read() as conn:
            billing = await repo.load(conn, account_id)
        self._cache.put(account_id, billing)
        return billing

    async def balance(self, account_id: int) -> tuple[int, bool]:
        async with self.db.read() as conn:
            return await repo.balance(conn, account_id)

    async def credit(
        self, account_id: int, amount: str | int | float, *, note: str | None, actor: str
    ) -> int:
        delta = to_micro(amount)
        if delta == 0:
            raise ValidationFailed("The amount is zero.", code="invalid_amount")
        now = now_us()
        async with self.db.write() as conn:
            after = await repo.adjust(conn, account_id, delta, reason="credit", now=now, note=note)
            await audit.record(
                conn, actor=actor, action="credits.changed", account_id=account_id, now=now,
                delta=str(amount), note=note,
            )  # fmt: skip
        return after

    async def configure(
        self,
        account_id: int,
        *,
        default: Any = None,
        high_surcharge: Any = None,
        prefixes: dict[str, Any] | None = None,
        replace_prefixes: bool = False,
        prepaid: bool | None = None,
        refund_policy: str | None = None,
        actor: str,
    ) -> repo.Billing:
        by_prefix: dict[str, int] = {}
        for prefix, price in (prefixes or {}).items():
            digits = str(prefix).lstrip("+")
            if not (digits.isascii() and digits.isdigit()) or not 1 <= len(digits) <= 15:
                raise ValidationFailed(
                    f"Invalid prefix {prefix!r}: use the leading digits of E.164 numbers, "
                    "e.g. 49 or 4917.",
                    code="invalid_prefix",
                )
            by_prefix[digits] = _price(price)
        if refund_policy is not None and refund_policy not in REFUND_POLICIES:
            raise ValidationFailed(
                f"Unknown refund policy {refund_policy!r}; use unsent or none.",
                code="invalid_refund_policy",
            )
        now = now_us()
        async with self.db.write() as conn:
            await repo.set_prices(
                conn, account_id,
                default=None if default is None else _price(default),
                high_surcharge=None if high_surcharge is None else _price(high_surcharge),
                by_prefix=by_prefix, replace_prefixes=replace_prefixes, prepaid=prepaid,
                refund_policy=refund_policy,
            )  # fmt: skip
            await audit.record(
                conn, actor=actor, action="prices.changed", account_id=account_id, now=now,
                default=None if default is None else str(default),
                prefixes={k: str(v) for k, v in (prefixes or {}).items()},
                prepaid=prepaid, refund_policy=refund_policy,
            )  # fmt: skip
        self._cache.discard(account_id)
        return await self.billing(account_id)


def _price(value: Any) -> int:
    micro = to_micro(value)
    if micro < 0:
        raise ValidationFailed("A price cannot be negative.", code="invalid_amount")
    return micro
