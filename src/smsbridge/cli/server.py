"""`smsbridge serve`, `worker`, `migrate` and `send`."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated, Any

import typer

from smsbridge.cli.common import app, err, migrated, out, run, settings
from smsbridge.runtime import configure_logging, tune_gc


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on [127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [8080]")] = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Serve the API only; run dispatchers elsewhere.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            help="HTTP worker processes [1]; each takes a fair share of the connections and "
            "also dispatches."
        ),
    ] = None,
    ssl_certfile: Annotated[
        str | None,
        typer.Option(help="Serve HTTPS with this certificate chain (PEM); phones need HTTPS"),
    ] = None,
    ssl_keyfile: Annotated[
        str | None, typer.Option(help="The certificate's private key (PEM)")
    ] = None,
) -> None:
    """Start the HTTP API (and, unless --no-worker, the dispatcher)."""
    import os

    import uvicorn

    from smsbridge.api.app import create_app

    cfg = settings()
    configure_logging(cfg.log_level)
    count = workers or cfg.workers
    options: dict[str, Any] = {
        "host": host or cfg.host,
        "port": port or cfg.port,
        "log_level": cfg.log_level.lower(),
        "access_log": False,
        "loop": "uvloop",
        "http": "httptools",
        # Event streams (phones, /api/v1/events) never end by themselves: give them 5 s.
        "timeout_graceful_shutdown": 5,
    }
    certfile = ssl_certfile or cfg.ssl_certfile
    keyfile = ssl_keyfile or cfg.ssl_keyfile
    if bool(certfile) != bool(keyfile):
        err.print("error: HTTPS needs both --ssl-certfile and --ssl-keyfile")
        raise typer.Exit(2)
    if certfile:
        options.update(ssl_certfile=certfile, ssl_keyfile=keyfile)
    if count == 1:
        tune_gc()
        uvicorn.run(create_app(cfg, dispatch=not no_worker and cfg.dispatch), **options)
        return
    # Several processes: migrate once here, then let each worker build the app from the
    # same environment.
    run(lambda: migrated(cfg))
    os.environ["SMSBRIDGE_MIGRATE_ON_START"] = "false"
    if no_worker:
        os.environ["SMSBRIDGE_DISPATCH"] = "false"
    from smsbridge.api.balancer import serve_balanced

    code = serve_balanced("smsbridge.api.app:create_app_from_env", count, **options)
    raise typer.Exit(code)


@app.command()
def worker() -> None:
    """Run a dispatcher only (add processes to share the load on PostgreSQL)."""
    from smsbridge.gateway import Gateway

    cfg = settings()
    configure_logging(cfg.log_level)

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
    run(lambda: migrated(cfg))
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
    from smsbridge.core.pricing import credits
    from smsbridge.gateway import Gateway
    from smsbridge.services.caller import Caller
    from smsbridge.services.message_plan import SendRequest

    cfg = settings()

    async def main() -> None:
        gateway = Gateway(cfg)
        await gateway.start(dispatch=False)
        try:
            record = await gateway.accounts.get(account)
            caller = Caller.of_account(record)
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
