"""Shared pieces of the `smsbridge` command line: the Typer apps, settings, running."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvloop
from pydantic_settings import SettingsError
from rich.console import Console

from smsbridge.config import Settings, load_settings
from smsbridge.core.errors import SmsBridgeError

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


async def migrated(cfg: Settings) -> None:
    from smsbridge.store.migrate import upgrade

    await upgrade(cfg.database_url)


@asynccontextmanager
async def open_services(cfg: Settings) -> AsyncIterator[tuple[Any, Any]]:
    """Key and account services over a short-lived connection (migrating first)."""
    from smsbridge.services.accounts import AccountService
    from smsbridge.services.keys import KeyService
    from smsbridge.store.db import Database

    await migrated(cfg)
    db = Database.unpooled(cfg.database_url)
    keys = KeyService(db)
    try:
        yield keys, AccountService(db, keys)
    finally:
        await db.dispose()
