"""Shared bench plumbing: start a real `smsbridge` process on a fresh database and stop it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PG_SERVER = os.environ.get("SMSBRIDGE_BENCH_PG", "postgresql://root@127.0.0.1:5432")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """A new empty database: a SQLite file in a temp dir, or a new PostgreSQL database."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    import asyncpg

    name = f"smsbridge_bench_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_SERVER + "/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def cli(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "smsbridge", *args],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    key: str

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(
    database_url: str,
    *,
    worker: bool,
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
) -> Server:
    port = free_port()
    env = {
        "SMSBRIDGE_DATABASE_URL": database_url,
        "SMSBRIDGE_PORT": str(port),
        "SMSBRIDGE_LOG_LEVEL": "warning",
        **(extra_env or {}),
    }
    key = cli(["keys", "create", "--name", "bench"], env)
    args = ["serve", "--workers", str(workers)] + ([] if worker else ["--no-worker"])
    proc = subprocess.Popen([sys.executable, "-m", "smsbridge", *args], env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    nodes: set[int] = set()  # the worker processes that answered so far
    for _ in range(600):
        try:
            # A new connection each time: the balancer spreads them over the workers.
            r = httpx.get(base + "/health", timeout=1)
            if r.status_code == 200:
                nodes.add(r.json().get("node", 0))
                if len(nodes) >= workers:
                    return Server(proc, base, key)
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"server did not start ({len(nodes)} of {workers} workers answered)")


def start_worker(
    database_url: str, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = {
        "SMSBRIDGE_DATABASE_URL": database_url,
        "SMSBRIDGE_LOG_LEVEL": "warning",
        **(extra_env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "smsbridge", "worker"], env={**os.environ, **env}
    )


def backends() -> list[str]:
    chosen = os.environ.get("BENCH_BACKENDS", "sqlite,postgresql")
    return [b.strip() for b in chosen.split(",") if b.strip()]
