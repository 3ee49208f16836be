"""`smsbridge campaigns ...`: create, start, pause, resume, cancel and watch campaigns."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from smsbridge.api.v1.campaigns import render
from smsbridge.cli.book import open_gateway
from smsbridge.cli.common import app, err, out, run, settings
from smsbridge.core.errors import ValidationFailed
from smsbridge.services.campaigns import CampaignSpec

campaigns_app = typer.Typer(
    help="Newsletters to groups, contacts and numbers. The running gateway (smsbridge serve "
    "or worker) sends them.",
    no_args_is_help=True,
)
app.add_typer(campaigns_app, name="campaigns")

AccountOption = Annotated[str, typer.Option("--account", "-a", help="Owning account")]
WatchOption = Annotated[
    bool, typer.Option("--watch", "-w", help="Show a live progress bar until it ends")
]
FINAL = ("completed", "cancelled")


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"--send-at {value!r}: write an ISO time such as 2026-05-01T09:00:00+02:00.",
            code="invalid_send_at",
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@campaigns_app.command("create")
def campaigns_create(
    name: Annotated[str, typer.Argument(help="Campaign name")],
    text: Annotated[str, typer.Option("--text", "-t", help="Text; {{firstname}} etc. filled in")],
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="Group (repeatable)")
    ] = None,
    contact: Annotated[
        list[int] | None, typer.Option("--contact", help="Contact id (repeatable)")
    ] = None,
    number: Annotated[
        list[str] | None, typer.Option("--number", "-n", help="Number (repeatable)")
    ] = None,
    send_at: Annotated[
        str | None, typer.Option(help="Start at (ISO 8601; UTC if no offset)")
    ] = None,
    throttle: Annotated[int | None, typer.Option(help="Messages per minute")] = None,
    quiet: Annotated[
        str | None, typer.Option(help="Quiet hours, e.g. 21:00-08:00 (account time)")
    ] = None,
    sender: Annotated[str | None, typer.Option("--from", help="Sender id")] = None,
    birthday_at: Annotated[
        str | None, typer.Option(help="Make it a birthday campaign sending at this local HH:MM")
    ] = None,
    empty_missing: Annotated[
        bool, typer.Option("--empty-missing", help="Leave placeholders without value empty")
    ] = False,
    start: Annotated[bool, typer.Option("--start", help="Start it right away")] = False,
    account: AccountOption = "default",
) -> None:
    """Create a campaign (a draft unless --start) and print its id."""
    cfg = settings()
    quiet_start = quiet_end = None
    if quiet is not None:
        quiet_start, _, quiet_end = quiet.partition("-")

    async def main() -> dict[str, Any]:
        spec = CampaignSpec(
            name=name, text=text, kind="birthday" if birthday_at else "once",
            groups=list(group or []), contacts=list(contact or []), numbers=list(number or []),
            send_at=_when(send_at), throttle=throttle, quiet_start=quiet_start,
            quiet_end=quiet_end or None, sender=sender, birthday_at=birthday_at,
            missing_fields="empty" if empty_missing else None,
        )  # fmt: skip
        async with open_gateway(cfg, account) as (gw, caller):
            view = await gw.campaigns.create(caller, spec)
            if start:
                view = await gw.campaigns.start(caller, view.row["id"])
            return render(view)

    body = run(main)
    typer.echo(body["id"])
    err.print(f"campaign {body['id']} {body['state']}")


def _action(action: str, campaign_id: int, account: str, watch: bool = False) -> None:
    cfg = settings()

    async def main() -> dict[str, Any]:
        async with open_gateway(cfg, account) as (gw, caller):
            view = await getattr(gw.campaigns, action)(caller, campaign_id)
            body = render(view)
            if watch:
                body = await _watch(gw, caller, campaign_id, body)
            return body

    _show(run(main))


async def _watch(gw: Any, caller: Any, campaign_id: int, body: dict[str, Any]) -> dict[str, Any]:
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err,
    ) as bar:  # fmt: skip
        task = bar.add_task(body["state"], total=body["progress"]["total"] or None)
        while True:
            p = body["progress"]
            done = p["sent"] + p["delivered"] + p["failed"] + p["skipped"] + p["cancelled"]
            bar.update(
                task, completed=done, total=p["total"] or None,
                description=f"{body['state']}: {p['delivered']} delivered, {p['failed']} failed",
            )  # fmt: skip
            if body["state"] in (*FINAL, "paused", "draft"):
                return body
            await asyncio.sleep(0.5)
            body = render(await gw.campaigns.get(caller, campaign_id))


def _show(body: dict[str, Any]) -> None:
    p = body["progress"]
    out.print(f"campaign {body['id']} [bold]{body['name']}[/bold]: {body['state']}"
              + (f" ({body['state_reason']})" if body["state_reason"] else ""))  # fmt: skip
    out.print(
        f"total {p['total']}, queued {p['queued']}, sent {p['sent']}, delivered "
        f"{p['delivered']}, failed {p['failed']}, skipped {p['skipped']}, cancelled "
        f"{p['cancelled']}; cost {body['cost']} credits"
    )
    if "estimate" in body:
        e = body["estimate"]
        out.print(f"estimate: {e['recipients']} recipients, {e['price']} credits")


@campaigns_app.command("start")
def campaigns_start(
    campaign_id: int, watch: WatchOption = False, account: AccountOption = "default"
) -> None:
    """Start a draft campaign (checks and prices every recipient first)."""
    _action("start", campaign_id, account, watch)


@campaigns_app.command("pause")
def campaigns_pause(campaign_id: int, account: AccountOption = "default") -> None:
    """Hold every message of the campaign that has not left yet."""
    _action("pause", campaign_id, account)


@campaigns_app.command("resume")
def campaigns_resume(
    campaign_id: int, watch: WatchOption = False, account: AccountOption = "default"
) -> None:
    """Go on with a paused campaign."""
    _action("resume", campaign_id, account, watch)


@campaigns_app.command("cancel")
def campaigns_cancel(campaign_id: int, account: AccountOption = "default") -> None:
    """Stop a campaign and cancel what has not left (refunded)."""
    _action("cancel", campaign_id, account)


@campaigns_app.command("status")
def campaigns_status(
    campaign_id: int, watch: WatchOption = False, account: AccountOption = "default"
) -> None:
    """Show a campaign's progress (with --watch, live until it ends)."""
    _action("get", campaign_id, account, watch)


@campaigns_app.command("list")
def campaigns_list(account: AccountOption = "default") -> None:
    """List the account's campaigns, newest first."""
    cfg = settings()

    async def main() -> list[dict[str, Any]]:
        async with open_gateway(cfg, account) as (gw, caller):
            return [render(v) for v in await gw.campaigns.list(caller, None, None, 200)]

    table = Table("id", "name", "state", "total", "delivered", "failed", "cost")
    for body in run(main):
        p = body["progress"]
        table.add_row(str(body["id"]), body["name"], body["state"], str(p["total"]),
                      str(p["delivered"]), str(p["failed"]), str(body["cost"]))  # fmt: skip
    out.print(table)
