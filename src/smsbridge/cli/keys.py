"""`smsbridge keys ...`: create, list and revoke API keys."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from smsbridge.cli.common import err, keys_app, open_services, out, run, settings
from smsbridge.store.db import now_us


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
        async with open_services(cfg) as (keys, _):
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
    from smsbridge.core.timefmt import iso

    cfg = settings()

    async def main() -> list[Any]:
        async with open_services(cfg) as (keys, _):
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
        async with open_services(cfg) as (keys, _):
            await keys.revoke(key_id)

    run(main)
    err.print(f"key {key_id} revoked")
