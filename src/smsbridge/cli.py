"""The ``smsbridge`` command line."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvloop
from pydantic_settings import SettingsError
from rich.console import Console
from rich.table import Table

from smsbridge.config import Settings, load_settings
from smsbridge.core.errors import SmsBridgeError
from smsbridge.runtime import tune_gc
from smsbridge.services.billing import BillingService
from smsbridge.store.db import now_us

T = TypeVar("T")

app = typer.Typer(
    help="smsbridge: a self-hosted SMS gateway. Configure with SMSBRIDGE_* environment "
    "variables or a TOML file (--config / SMSBRIDGE_CONFIG).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
accounts_app = typer.Typer(
    help="Create, list, show, suspend and resume accounts.", no_args_is_help=True
)
app.add_typer(accounts_app, name="accounts")

err = Console(stderr=True, soft_wrap=True)
out = Console()
_state: dict[str, Any] = {}

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML settings file (keys as in SMSBRIDGE_*, lower case).",
        envvar="SMSBRIDGE_CONFIG",
        show_envvar=True,
    ),
]


@app.callback()
def main_options(config: ConfigOption = None) -> None:
    _state["config"] = config


def settings(**overrides: Any) -> Settings:
    try:
        return load_settings(_state.get("config"), **overrides)
    except (ValueError, FileNotFoundError, SettingsError) as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    async def wrapper() -> T:
        return await coro_fn()

    try:
        return uvloop.run(wrapper())
    except SmsBridgeError as exc:
        err.print(f"[red]error ({exc.code}):[/red] {exc.message}")
        raise typer.Exit(1) from None


async def _migrated(cfg: Settings) -> None:
    from smsbridge.store.migrate import upgrade

    await upgrade(cfg.database_url)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on [127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [8080]")] = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Serve the API only; run dispatchers elsewhere.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(help="HTTP worker processes sharing the port [1]; each also dispatches."),
    ] = None,
) -> None:
    """Start the HTTP API (and, unless --no-worker, the dispatcher)."""
    import os

    import uvicorn

    from smsbridge.api.app import create_app

    cfg = settings()
    logging.basicConfig(
        level=cfg.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    count = workers or cfg.workers
    options: dict[str, Any] = {
        "host": host or cfg.host,
        "port": port or cfg.port,
        "log_level": cfg.log_level.lower(),
        "access_log": False,
        "loop": "uvloop",
        "http": "httptools",
    }
    if count == 1:
        tune_gc()
        uvicorn.run(create_app(cfg, dispatch=not no_worker and cfg.dispatch), **options)
        return
    # Several processes: migrate once here, then let each worker build the app from the
    # same environment.
    run(lambda: _migrated(cfg))
    os.environ["SMSBRIDGE_MIGRATE_ON_START"] = "false"
    if no_worker:
        os.environ["SMSBRIDGE_DISPATCH"] = "false"
    uvicorn.run("smsbridge.api.app:create_app_from_env", factory=True, workers=count, **options)


@app.command()
def worker() -> None:
    """Run a dispatcher only (add processes to share the load on PostgreSQL)."""
    from smsbridge.gateway import Gateway

    cfg = settings()
    logging.basicConfig(
        level=cfg.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    async def main() -> None:
        gateway = Gateway(cfg)
        await gateway.start(dispatch=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        err.print(f"worker {gateway.dispatcher.worker if gateway.dispatcher else ''} running")
        await stop.wait()
        await gateway.stop()

    run(main)


@app.command()
def migrate() -> None:
    """Create the database or bring it to the newest schema."""
    cfg = settings()
    run(lambda: _migrated(cfg))
    err.print("database is up to date")


@app.command()
def send(
    to: Annotated[list[str], typer.Argument(help="Recipient numbers, e.g. +4917612345678")],
    text: Annotated[str, typer.Option("--text", "-t", help="Message text")],
    sender: Annotated[str | None, typer.Option("--from", "-f", help="Sender id")] = None,
    account: Annotated[str, typer.Option("--account", "-a", help="Sending account")] = "default",
    test: Annotated[bool, typer.Option(help="Validate and encode only; never send")] = False,
) -> None:
    """Queue a message; a running `serve` or `worker` sends it."""
    from smsbridge.core.encoding import parse_languages
    from smsbridge.core.pricing import credits
    from smsbridge.gateway import Gateway
    from smsbridge.services.caller import Caller
    from smsbridge.services.send import SendRequest

    cfg = settings()

    async def main() -> None:
        gateway = Gateway(cfg)
        await gateway.start(dispatch=False)
        try:
            record = await gateway.accounts.get(account)
            caller = Caller(
                record.id, None, record.default_region, record.default_sender,
                parse_languages(record.national_languages),
            )  # fmt: skip
            accepted = await gateway.send.send(
                caller, SendRequest(to=list(to), text=text, sender=sender, test=test)
            )
        finally:
            await gateway.stop()
        out.print(
            f"message {accepted.id}: {accepted.encoding}, {accepted.parts} part(s), "
            f"{credits(accepted.price)} credits"
        )
        for r in accepted.recipients:
            reason = f"  {r.error_message}" if r.error_message else ""
            out.print(f"  {r.to}  {r.status}{reason}")

    run(main)


@asynccontextmanager
async def _services(cfg: Settings) -> AsyncIterator[tuple[Any, Any]]:
    """Key and account services over a short-lived connection (migrating first)."""
    from smsbridge.services.accounts import AccountService
    from smsbridge.services.keys import KeyService
    from smsbridge.store.db import Database

    await _migrated(cfg)
    db = Database.unpooled(cfg.database_url)
    keys = KeyService(db)
    try:
        yield keys, AccountService(db, keys)
    finally:
        await db.dispose()


@keys_app.command("create")
def keys_create(
    account: Annotated[str, typer.Option("--account", "-a", help="Owning account")] = "default",
    name: Annotated[str, typer.Option("--name", "-n", help="A label for the key")] = "default",
    scopes: Annotated[
        str | None,
        typer.Option(help="Comma-separated scopes [every scope but admin], e.g. messages:send"),
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="Lifetime (30d, 12h) or ISO time; default: never")
    ] = None,
    ip_allow: Annotated[
        str | None, typer.Option(help="Comma-separated CIDRs the key may be used from")
    ] = None,
    require_signature: Annotated[
        bool,
        typer.Option(
            "--require-signature", help="Requests must be signed; prints the secret on line 2"
        ),
    ] = False,
) -> None:
    """Create an API key and print it (only the key, on stdout). It is shown only once."""
    cfg = settings()

    async def main() -> Any:
        async with _services(cfg) as (keys, _):
            return await keys.create(
                account=account, name=name, scopes=scopes, expires=expires, ip_allow=ip_allow,
                require_signature=require_signature,
            )  # fmt: skip

    created = run(main)
    typer.echo(created.key)
    if created.signing_secret:
        typer.echo(created.signing_secret)


@keys_app.command("list")
def keys_list(
    account: Annotated[
        str | None, typer.Option("--account", "-a", help="Only this account")
    ] = None,
) -> None:
    """List API keys, one per line, id first (the keys themselves are never shown)."""
    from smsbridge.api.v1.render import iso

    cfg = settings()

    async def main() -> list[Any]:
        async with _services(cfg) as (keys, _):
            result: list[Any] = await keys.list(account)
            return result

    records = run(main)
    table = Table("id", "name", "account", "prefix", "scopes", "expires", "state", box=None)
    now = now_us()
    for r in records:
        if r.revoked_at:
            state = "revoked"
        elif r.expires_at is not None and r.expires_at <= now:
            state = "expired"
        else:
            state = "active"
        table.add_row(
            str(r.id), r.name, r.account_name, r.prefix + "…", r.scopes or "(default)",
            iso(r.expires_at) or "never", state,
        )  # fmt: skip
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="Key id from `keys list`")]) -> None:
    """Revoke a key; requests with it are refused from then on."""
    cfg = settings()

    async def main() -> None:
        async with _services(cfg) as (keys, _):
            await keys.revoke(key_id)

    run(main)
    err.print(f"key {key_id} revoked")


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
        async with _services(cfg) as (_, accounts):
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
        async with _services(cfg) as (_, accounts):
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
        async with _services(cfg) as (_, accounts):
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
    from smsbridge.api.v1.render import iso

    cfg = settings()

    async def main() -> Any:
        async with _services(cfg) as (_, accounts):
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
        async with _services(cfg) as (_, accounts):
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
        async with _services(cfg) as (_, accounts):
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
        async with _services(cfg) as (_, accounts):
            await accounts.set_limits(name, values)

    run(main)
    err.print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in values.items()))


def _set_status(name: str, status: str) -> None:
    cfg = settings()

    async def main() -> Any:
        async with _services(cfg) as (_, accounts):
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


def main() -> None:
    app()
