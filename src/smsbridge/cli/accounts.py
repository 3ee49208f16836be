"""`smsbridge accounts ...`: accounts, their defaults, credits, prices and limits."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from smsbridge.cli.common import accounts_app, err, open_services, out, run, settings
from smsbridge.services.billing import BillingService


@accounts_app.command("create")
def accounts_create(
    name: Annotated[str, typer.Argument(help="Account name, e.g. acme")],
    email: Annotated[str | None, typer.Option(help="Login email")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the login password from stdin")
    ] = False,
    region: Annotated[str | None, typer.Option(help="Default number region, e.g. DE")] = None,
    sender: Annotated[str | None, typer.Option("--from", help="Default sender id")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone")] = "UTC",
    credits: Annotated[
        str | None, typer.Option(help="Make the account prepaid with this many credits")
    ] = None,
) -> None:
    """Create an account (without --credits it runs a tab: usage is recorded, never refused)."""
    cfg = settings()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None

    async def main() -> Any:
        async with open_services(cfg) as (_, accounts):
            record = await accounts.create(
                name, email=email, password=password, region=region, sender=sender,
                timezone=timezone,
            )  # fmt: skip
            if credits is not None:
                billing = BillingService(accounts.db)
                await billing.configure(record.id, prepaid=True, actor="cli")
                await billing.credit(record.id, credits, note="initial credits", actor="cli")
            return record

    record = run(main)
    out.print(f"account {record.name} created (id {record.id})")


@accounts_app.command("update")
def accounts_update(
    name: Annotated[str, typer.Argument(help="Account name")],
    region: Annotated[str | None, typer.Option(help="Default number region ('' clears)")] = None,
    sender: Annotated[str | None, typer.Option("--from", help="Default sender ('' clears)")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA time zone")] = None,
    languages: Annotated[
        str | None, typer.Option(help="National shift tables: turkish,spanish,portuguese")
    ] = None,
) -> None:
    """Change an account's defaults; options left out stay as they are."""
    cfg = settings()

    async def main() -> Any:
        async with open_services(cfg) as (_, accounts):
            return await accounts.update(
                name, region=region, sender=sender, timezone=timezone, languages=languages
            )

    record = run(main)
    out.print(
        f"account {record.name}: region {record.default_region or '-'}, from "
        f"{record.default_sender or '-'}, time zone {record.timezone}, languages "
        f"{record.national_languages or '-'}"
    )


@accounts_app.command("list")
def accounts_list() -> None:
    """List accounts, one per line."""
    cfg = settings()

    async def main() -> list[Any]:
        async with open_services(cfg) as (_, accounts):
            result: list[Any] = await accounts.list()
            return result

    table = Table("id", "name", "email", "status", "region", "timezone", box=None)
    for r in run(main):
        table.add_row(str(r.id), r.name, r.email or "", r.status, r.default_region or "",
                      r.timezone)  # fmt: skip
    out.print(table)


@accounts_app.command("show")
def accounts_show(name: Annotated[str, typer.Argument(help="Account name")]) -> None:
    """Show one account."""
    from smsbridge.core.timefmt import iso

    cfg = settings()

    async def main() -> Any:
        async with open_services(cfg) as (_, accounts):
            return await accounts.get(name)

    r = run(main)
    for label, value in (
        ("id", r.id), ("name", r.name), ("email", r.email), ("status", r.status),
        ("region", r.default_region), ("sender", r.default_sender), ("timezone", r.timezone),
        ("created", iso(r.created_at)),
    ):  # fmt: skip
        out.print(f"{label:10s} {value if value is not None else ''}")


@accounts_app.command("credit")
def accounts_credit(
    name: Annotated[str, typer.Argument(help="Account name")],
    amount: Annotated[str, typer.Argument(help="Credits to add; negative to deduct")],
    note: Annotated[str | None, typer.Option(help="Why (kept in the ledger)")] = None,
) -> None:
    """Add or deduct credits (a ledger row and an audit entry)."""
    from smsbridge.core.pricing import credits as show

    cfg = settings()

    async def main() -> int:
        async with open_services(cfg) as (_, accounts):
            record = await accounts.get(name)
            after: int = await BillingService(accounts.db).credit(
                record.id, amount, note=note, actor="cli"
            )
            return after

    out.print(f"balance of {name}: {show(run(main))} credits")


@accounts_app.command("prices")
def accounts_prices(
    name: Annotated[str, typer.Argument(help="Account name")],
    default: Annotated[str | None, typer.Option(help="Price per part, e.g. 0.09")] = None,
    prefix: Annotated[
        list[str] | None,
        typer.Option(help="PREFIX=PRICE per part by destination, e.g. 49=0.075 (repeatable)"),
    ] = None,
    high_surcharge: Annotated[
        str | None, typer.Option(help="Extra per part for priority high")
    ] = None,
    prepaid: Annotated[
        bool | None, typer.Option("--prepaid/--tab", help="Refuse sends without credit")
    ] = None,
    refund_policy: Annotated[
        str | None, typer.Option(help="unsent (refund cancelled/unsent) or none")
    ] = None,
) -> None:
    """Set an account's prices and billing policy, then print them."""
    from smsbridge.core.pricing import credits as show

    prefixes: dict[str, str] = {}
    for item in prefix or []:
        key, sep, value = item.partition("=")
        if not sep:
            err.print(f"[red]error:[/red] --prefix {item!r}: write PREFIX=PRICE, e.g. 49=0.075")
            raise typer.Exit(2)
        prefixes[key.strip()] = value.strip()
    cfg = settings()

    async def main() -> Any:
        async with open_services(cfg) as (_, accounts):
            record = await accounts.get(name)
            return await BillingService(accounts.db).configure(
                record.id, default=default, high_surcharge=high_surcharge, prefixes=prefixes,
                prepaid=prepaid, refund_policy=refund_policy, actor="cli",
            )  # fmt: skip

    billing = run(main)
    mode = "prepaid" if billing.prepaid else "tab"
    out.print(
        f"default {show(billing.prices.default)} per part, high priority "
        f"+{show(billing.prices.high_surcharge)}, {mode}, refunds: {billing.refund_policy}"
    )
    for key, value in sorted(billing.prices.by_prefix.items()):
        out.print(f"  +{key}  {show(value)}")


@accounts_app.command("limits")
def accounts_limits(
    name: Annotated[str, typer.Argument(help="Account name")],
    rate: Annotated[int | None, typer.Option(help="Requests per second per key")] = None,
    reload_window: Annotated[
        int | None, typer.Option(help="Seconds in which the same text to a number is refused")
    ] = None,
    daily_cap: Annotated[int | None, typer.Option(help="Messages per number per day")] = None,
) -> None:
    """Set the account's limits; options left out stay as they are."""
    given = {"rate_limit": rate, "reload_window": reload_window, "daily_cap": daily_cap}
    values = {k: v for k, v in given.items() if v is not None}
    if not values:
        err.print("nothing to change: give --rate, --reload-window or --daily-cap")
        raise typer.Exit(2)
    cfg = settings()

    async def main() -> None:
        async with open_services(cfg) as (_, accounts):
            await accounts.set_limits(name, values)

    run(main)
    err.print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in values.items()))


def _set_status(name: str, status: str) -> None:
    cfg = settings()

    async def main() -> Any:
        async with open_services(cfg) as (_, accounts):
            return await accounts.set_status(name, status)

    record = run(main)
    err.print(f"account {record.name} is {record.status}")


@accounts_app.command("suspend")
def accounts_suspend(name: Annotated[str, typer.Argument(help="Account name")]) -> None:
    """Suspend an account: its keys stop working at once."""
    _set_status(name, "suspended")


@accounts_app.command("resume")
def accounts_resume(name: Annotated[str, typer.Argument(help="Account name")]) -> None:
    """Resume a suspended account."""
    _set_status(name, "active")
