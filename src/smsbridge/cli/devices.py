"""`smsbridge devices ...`: the account's Android phones, and the token that adds one."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from smsbridge.cli.book import open_gateway
from smsbridge.cli.common import app, out, run, settings
from smsbridge.core.timefmt import iso

devices_app = typer.Typer(
    help="Android phones running the SMSGate app: list, show, remove, and the token that "
    "registers a new one.",
    no_args_is_help=True,
)
app.add_typer(devices_app, name="devices")
AccountOption = Annotated[str, typer.Option("--account", "-a", help="The phones' account")]


@devices_app.command("token")
def devices_token(
    account: AccountOption = "default",
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Replace the token (phones already added stay)")
    ] = False,
) -> None:
    """Print the private token phones register with (alone, on the first line), then what to
    type into the SMSGate app: Settings → Cloud server → API URL and Private token, with the
    notification channel SSE_ONLY; turn Cloud server on and restart the app."""
    cfg = settings()

    async def main() -> Any:
        async with open_gateway(cfg, account) as (gateway, _caller):
            return await gateway.device_accounts.token_for(account, rotate=rotate)

    creds = run(main)
    base = cfg.public_url or f"http://{cfg.host}:{cfg.port}"
    typer.echo(creds.private_token)
    typer.echo(f"API URL: {base.rstrip('/')}/api/mobile/v1")
    typer.echo(f"Integrator API (SMSGate clients): {base.rstrip('/')}/api/3rdparty/v1")
    typer.echo(f"Login: {creds.login}")
    typer.echo(
        "Password: the first phone to register shows it on the app's Home tab "
        "(or set a new one: smsbridge devices password)"
    )


@devices_app.command("password")
def devices_password(account: AccountOption = "default") -> None:
    """Set a new password for the SMSGate integrator API and print it (alone)."""
    cfg = settings()

    async def main() -> Any:
        async with open_gateway(cfg, account) as (gateway, caller):
            return await gateway.device_accounts.reset_password(caller.account_id)

    typer.echo(run(main).password)


@devices_app.command("list")
def devices_list(account: AccountOption = "default") -> None:
    """One line per phone: id, name, online, last seen, SIMs, messages waiting on it."""
    cfg = settings()

    async def main() -> list[dict[str, Any]]:
        async with open_gateway(cfg, account) as (gateway, caller):
            result: list[dict[str, Any]] = await gateway.devices.all_of(caller.account_id)
            return result

    table = Table("id", "name", "state", "last seen", "SIMs", "queued", box=None)
    for device in run(main):
        sims = ", ".join(
            f"{card.get('simNumber')}:{card.get('carrierName') or '?'}" for card in device["sims"]
        )
        table.add_row(
            device["id"], device["name"], "online" if device["online"] else "offline",
            iso(device["last_seen"]) or "", sims or "-", str(device["queued"]),
        )  # fmt: skip
    out.print(table)


@devices_app.command("show")
def devices_show(device_id: str, account: AccountOption = "default") -> None:
    """Everything about one phone, as JSON."""
    from smsbridge.api.v1.devices import device_out

    cfg = settings()

    async def main() -> dict[str, Any]:
        async with open_gateway(cfg, account) as (gateway, caller):
            result: dict[str, Any] = await gateway.devices.get(caller.account_id, device_id)
            return result

    out.print_json(data=device_out(run(main)))


@devices_app.command("remove")
def devices_remove(device_id: str, account: AccountOption = "default") -> None:
    """Remove a phone: its waiting messages move to the account's other phones."""
    cfg = settings()

    async def main() -> None:
        async with open_gateway(cfg, account) as (gateway, caller):
            await gateway.devices.remove(caller.account_id, device_id)

    run(main)
    out.print(f"removed {device_id}")
