"""`smsbridge contacts ...`: import and export the address book as CSV."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from smsbridge.cli.book import open_gateway
from smsbridge.cli.common import app, err, out, run, settings
from smsbridge.services import contact_csv

contacts_app = typer.Typer(help="Import and export contacts (CSV).", no_args_is_help=True)
app.add_typer(contacts_app, name="contacts")

AccountOption = Annotated[str, typer.Option("--account", "-a", help="Owning account")]


@contacts_app.command("import")
def contacts_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV with a header row")
    ],
    group: Annotated[
        str | None, typer.Option("--group", "-g", help="Also add every row to this group")
    ] = None,
    map: Annotated[
        str | None,
        typer.Option(
            "--map", "-m", help="Column names to fields, e.g. Handy=phone,Vorname=firstname"
        ),
    ] = None,
    no_upsert: Annotated[
        bool, typer.Option("--no-upsert", help="Report existing phones instead of updating")
    ] = False,
    account: AccountOption = "default",
) -> None:
    """Import contacts from a CSV file (comma, semicolon or tab separated).

    Recognised columns: phone (or number, mobile), firstname, lastname, birthday (yyyy-mm-dd),
    email, extra1 ... extra10, groups (separated by ;), unsubscribed. A phone that exists
    updates its contact. Prints a summary of created, updated and invalid rows.
    """
    cfg = settings()
    with file.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        total = max(0, sum(1 for _ in handle) - 1)

    async def main() -> contact_csv.ImportSummary:
        mapping = contact_csv.parse_mapping(map)
        async with open_gateway(cfg, account) as (gw, caller):
            with file.open(encoding="utf-8-sig", errors="replace", newline="") as handle, Progress(
                TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=err, transient=True,
            ) as bar:  # fmt: skip
                task = bar.add_task("import", total=total)
                return await contact_csv.import_csv(
                    gw.contacts, caller, handle, mapping=mapping, group=group,
                    update_existing=not no_upsert,
                    progress=lambda done: bar.update(task, completed=done),
                )  # fmt: skip

    summary = run(main)
    out.print(
        f"{summary.rows} rows: {summary.created} created, {summary.updated} updated, "
        f"{summary.invalid} invalid"
    )
    if summary.ignored_columns:
        out.print(f"ignored columns: {', '.join(summary.ignored_columns)}")
    for problem in summary.errors[:20]:
        err.print(f"line {problem['line']}: {problem['code']}: {problem['message']}")
    if len(summary.errors) > 20:
        err.print(f"... and {summary.invalid - 20} more invalid rows")


@contacts_app.command("export")
def contacts_export(
    file: Annotated[Path | None, typer.Argument(help="Write here (default: stdout)")] = None,
    group: Annotated[str | None, typer.Option("--group", "-g", help="Only this group")] = None,
    account: AccountOption = "default",
) -> None:
    """Export contacts as CSV."""
    cfg = settings()

    async def main() -> None:
        async with open_gateway(cfg, account) as (gw, caller):
            chunks = contact_csv.export_csv(gw.contacts, caller, group)
            first = await anext(chunks)  # an unknown group fails here, before FILE is touched
            handle = file.open("w", encoding="utf-8", newline="") if file else sys.stdout
            try:
                handle.write(first)
                async for chunk in chunks:
                    handle.write(chunk)
            finally:
                if file:
                    handle.close()

    run(main)
