"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is reached at ``SMSBRIDGE_TEST_PG`` (default ``postgresql://root@127.0.0.1:5432``);
the suite creates its own database there and drops it at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from smsbridge.api.app import create_app
from smsbridge.config import Settings
from smsbridge.gateway import Gateway
from smsbridge.store.migrate import upgrade_sync
from smsbridge.store.schema import metadata

PG_SERVER = os.environ.get("SMSBRIDGE_TEST_PG", "postgresql://root@127.0.0.1:5432")
BACKENDS = ["sqlite", "postgresql"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_sync(f"sqlite:///{path}")
    return path


def _in_thread(fn: Any) -> None:
    """Run an asyncio entry point on its own thread (callers may be inside a running loop)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, fn()).result()


def _pg_admin(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_SERVER + "/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    _in_thread(run)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    name = f"smsbridge_test_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    url = f"{PG_SERVER}/{name}"
    upgrade_sync(url)
    yield url
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate_pg(url: str) -> None:
    import asyncpg

    tables = [t.name for t in metadata.sorted_tables if t.name not in ("accounts", "id_nodes")]

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
            await conn.execute("DELETE FROM accounts WHERE name <> 'default'")
            await conn.execute(
                "UPDATE accounts SET balance = 0, prepaid = false, price_default = NULL, "
                "price_high_surcharge = 0, refund_policy = 'unsent', status = 'active', "
                "rate_limit = NULL, reload_window = 180, daily_cap = NULL, failed_logins = 0, "
                "locked_until = NULL, callback_secret = NULL"
            )
        finally:
            await conn.close()

    _in_thread(run)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "smsbridge.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    truncate_pg(url)
    return url


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "simulator_dlr_delay_ms": 10,
        "poll_interval_ms": 20,
        "auth_cache_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Live:
    """A running gateway on loopback and an HTTP client authenticated against it."""

    base_url: str
    gateway: Gateway
    client: httpx.AsyncClient
    key: str
    gateway_app: Any = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def start_server(
    settings: Settings, *, dispatch: bool = True
) -> tuple[uvicorn.Server, asyncio.Task[None], str, Gateway]:
    server, task, base_url, app = await start_app(settings, dispatch=dispatch)
    return server, task, base_url, app.state.gateway


async def start_app(
    settings: Settings, *, dispatch: bool = True
) -> tuple[uvicorn.Server, asyncio.Task[None], str, Any]:
    app = create_app(settings, dispatch=dispatch)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task, f"http://127.0.0.1:{port}", app


@pytest.fixture
async def live_factory() -> AsyncIterator[Any]:
    running: list[tuple[uvicorn.Server, asyncio.Task[None], httpx.AsyncClient]] = []

    async def factory(database_url: str, *, dispatch: bool = True, **overrides: Any) -> Live:
        settings = make_settings(database_url, **overrides)
        server, task, base_url, app = await start_app(settings, dispatch=dispatch)
        gateway = app.state.gateway
        key = (await gateway.keys.create(name="tests")).key
        client = httpx.AsyncClient(base_url=base_url, timeout=30)
        running.append((server, task, client))
        return Live(base_url, gateway, client, key, app)

    yield factory
    for server, task, client in running:
        await client.aclose()
        server.should_exit = True
        await task


@pytest.fixture
async def live(live_factory: Any, database_url: str) -> Live:
    result: Live = await live_factory(database_url)
    return result


async def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll an async predicate until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        await asyncio.sleep(interval)
