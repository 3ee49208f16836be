"""The application factory: ``create_app(settings)`` mounts every door."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.responses import JSONResponse

from smsbridge import __version__
from smsbridge.api import public
from smsbridge.api.errors import install_error_handlers
from smsbridge.api.limits import BodySizeLimit
from smsbridge.api.v1 import (
    account,
    admin,
    auth,
    campaigns,
    contacts,
    devices,
    events,
    groups,
    inbound,
    messages,
    optouts,
    simulator,
    webhooks,
)
from smsbridge.compat import messaggisms, seven, smsgateway24, smstools
from smsbridge.compat.smsgate import mobile, thirdparty
from smsbridge.config import Settings
from smsbridge.gateway import Gateway

DESCRIPTION = """
smsbridge is a self-hosted SMS gateway. Authenticate with `Authorization: Bearer <key>` or
`X-Api-Key: <key>` (create a key with `smsbridge keys create`). Every error is JSON:
`{"error": {"code": "...", "message": "..."}}` where `code` is stable and `message` says how to
fix it.
"""


def create_app(settings: Settings, *, dispatch: bool | None = None) -> FastAPI:
    gateway = Gateway(settings)
    run_dispatcher = settings.dispatch if dispatch is None else dispatch

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gateway.start(dispatch=run_dispatcher, migrate=settings.migrate_on_start)
        try:
            yield
        finally:
            await gateway.stop()

    app = FastAPI(
        title="smsbridge",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    install_error_handlers(app)
    app.router.routes.extend(messages.lean_routes)
    app.include_router(messages.router)
    app.include_router(contacts.router)
    app.include_router(campaigns.router)
    app.include_router(groups.router)
    app.include_router(optouts.router)
    app.include_router(inbound.inbound_router)
    app.include_router(inbound.conversations_router)
    app.include_router(webhooks.router)
    app.include_router(devices.router)
    app.include_router(events.router)
    app.include_router(simulator.router)
    app.include_router(account.router)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(mobile.router)
    app.include_router(thirdparty.router)
    app.include_router(thirdparty.health_router(thirdparty.PREFIX))
    app.include_router(thirdparty.health_router("", with_root=False))
    app.include_router(public.router)
    app.include_router(seven.router)
    app.include_router(smsgateway24.router)
    app.include_router(messaggisms.router)
    app.include_router(smstools.router)

    @app.get("/health", tags=["health"], summary="Liveness and database check")
    async def health() -> JSONResponse:
        async with gateway.db.read() as conn:
            await conn.exec_driver_sql("SELECT 1")
        return JSONResponse(
            {
                "status": "ok",
                "version": __version__,
                "database": "sqlite" if gateway.db.is_sqlite else "postgresql",
                "dispatcher": gateway.dispatcher is not None,
                # Which process answered (each of `serve --workers N` has its own node).
                "node": gateway.ids.node,
            }
        )

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for worker processes started by ``smsbridge serve --workers N``: settings come
    from the environment (and ``SMSBRIDGE_CONFIG``), as in the parent."""
    from smsbridge.config import load_settings
    from smsbridge.runtime import tune_gc

    tune_gc()
    return create_app(load_settings())
