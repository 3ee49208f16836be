"""Balances, price lists and the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.core.errors import InsufficientCredit
from smsbridge.core.pricing import DEFAULT_PRICE, PriceList, credits
from smsbridge.store.bulk import execute_compiled, insert_rows
from smsbridge.store.schema import accounts, ledger, prices

# Debit unless a prepaid account would go below zero (one statement: concurrent debits of the
# same account serialise on its row and each sees the balance the previous one left).
_DEBIT = (
    update(accounts)
    .where(
        accounts.c.id == bindparam("aid"),
        (accounts.c.prepaid.is_(False)) | (accounts.c.balance >= bindparam("total")),
    )
    .values(balance=accounts.c.balance - bindparam("total"))
    .returning(accounts.c.balance)
)
LEDGER_COLUMNS = ("account_id", "at", "delta", "balance_after", "reason", "message_id", "note")


@dataclass(frozen=True, slots=True)
class Billing:
    """An account's prices and the sending rules that protect its recipients."""

    prices: PriceList
    prepaid: bool
    refund_policy: str
    reload_window: int = 180  # seconds; 0: off
    daily_cap: int | None = None
    timezone: str = "UTC"


@dataclass(slots=True)  # not frozen: frozen dataclasses cost thrice as much to build
class Charge:
    account_id: int
    message_id: int
    amount: int  # micro-credits, > 0


async def load(conn: AsyncConnection, account_id: int) -> Billing:
    row = (
        await conn.execute(
            select(
                accounts.c.price_default, accounts.c.price_high_surcharge, accounts.c.prepaid,
                accounts.c.refund_policy, accounts.c.reload_window, accounts.c.daily_cap,
                accounts.c.timezone,
            ).where(accounts.c.id == account_id)
        )
    ).first()  # fmt: skip
    by_prefix = {
        prefix: price
        for prefix, price in (
            await conn.execute(
                select(prices.c.prefix, prices.c.price).where(prices.c.account_id == account_id)
            )
        ).all()
    }
    if row is None:
        return Billing(PriceList(), False, "unsent")
    default = DEFAULT_PRICE if row.price_default is None else row.price_default
    return Billing(
        PriceList(default, row.price_high_surcharge, by_prefix), bool(row.prepaid),
        row.refund_policy, row.reload_window, row.daily_cap, row.timezone,
    )  # fmt: skip


async def charge(conn: AsyncConnection, charges: Sequence[Charge], now: int) -> dict[int, int]:
    """Debit every charge; returns each account's balance afterwards. A prepaid account that
    cannot pay raises :class:`InsufficientCredit` (the transaction then writes nothing)."""
    totals: dict[int, int] = {}
    for c in charges:
        totals[c.account_id] = totals.get(c.account_id, 0) + c.amount
    balances: dict[int, int] = {}
    for account_id, total in totals.items():
        result = await execute_compiled(conn, _DEBIT, {"aid": account_id, "total": total})
        after = result.scalar_one_or_none()
        if after is None:
            have = (
                await conn.execute(select(accounts.c.balance).where(accounts.c.id == account_id))
            ).scalar_one()
            raise InsufficientCredit(
                f"Not enough credit: this costs {credits(total)} credits and the balance is "
                f"{credits(have)}. Top the account up (smsbridge accounts credit NAME AMOUNT) or "
                "send less.",
                details={"cost": credits(total), "balance": credits(have)},
            )
        balances[account_id] = int(after)
    # Ledger rows, newest balance last, per account in charge order.
    running = {a: balances[a] + totals[a] for a in totals}
    rows = []
    for c in charges:
        running[c.account_id] -= c.amount
        rows.append((c.account_id, now, -c.amount, running[c.account_id], "charge", c.message_id,
                     None))  # fmt: skip
    await insert_rows(conn, ledger, LEDGER_COLUMNS, rows)
    return balances


async def adjust(
    conn: AsyncConnection,
    account_id: int,
    delta: int,
    *,
    reason: str,
    now: int,
    message_id: int | None = None,
    note: str | None = None,
) -> int:
    """Credit (delta > 0) or debit an account unconditionally; returns the new balance."""
    result = await conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(balance=accounts.c.balance + delta)
        .returning(accounts.c.balance)
    )
    after = int(result.scalar_one())
    await conn.execute(
        insert(ledger).values(
            account_id=account_id, at=now, delta=delta, balance_after=after, reason=reason,
            message_id=message_id, note=note,
        )
    )  # fmt: skip
    return after


async def balance(conn: AsyncConnection, account_id: int) -> tuple[int, bool]:
    row = (
        await conn.execute(
            select(accounts.c.balance, accounts.c.prepaid).where(accounts.c.id == account_id)
        )
    ).one()
    return int(row.balance), bool(row.prepaid)


async def set_prices(
    conn: AsyncConnection,
    account_id: int,
    *,
    default: int | None = None,
    high_surcharge: int | None = None,
    by_prefix: dict[str, int] | None = None,
    replace_prefixes: bool = False,
    prepaid: bool | None = None,
    refund_policy: str | None = None,
) -> None:
    values: dict[str, object] = {}
    if default is not None:
        values["price_default"] = default
    if high_surcharge is not None:
        values["price_high_surcharge"] = high_surcharge
    if prepaid is not None:
        values["prepaid"] = prepaid
    if refund_policy is not None:
        values["refund_policy"] = refund_policy
    if values:
        await conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))
    if replace_prefixes:
        await conn.execute(delete(prices).where(prices.c.account_id == account_id))
    for prefix, price in (by_prefix or {}).items():
        await conn.execute(
            delete(prices).where(prices.c.account_id == account_id, prices.c.prefix == prefix)
        )
        await conn.execute(insert(prices).values(account_id=account_id, prefix=prefix, price=price))


async def entries(
    conn: AsyncConnection, account_id: int, limit: int = 100
) -> list[dict[str, object]]:
    rows = (
        await conn.execute(
            select(ledger).where(ledger.c.account_id == account_id).order_by(ledger.c.id.desc())
            .limit(limit)
        )
    ).all()  # fmt: skip
    return [
        {"id": r.id, "at": r.at, "delta": r.delta, "balance_after": r.balance_after,
         "reason": r.reason, "message_id": r.message_id, "note": r.note}
        for r in rows
    ]  # fmt: skip
