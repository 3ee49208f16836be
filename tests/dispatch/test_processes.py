"""Real `smsbridge` processes: two workers sharing PostgreSQL, and a SIGKILL mid-dispatch."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from smsbridge.core.message import FINAL
from smsbridge.store.db import Database
from smsbridge.store.schema import recipients
from tests.conftest import free_port, make_settings, start_server, truncate_pg


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    full_env = {**os.environ, **env}
    return subprocess.Popen(
        [sys.executable, "-m", "smsbridge", *args],
        env=full_env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def count_by_status(database_url: str) -> dict[str, int]:
    db = Database.unpooled(database_url)
    try:
        async with db.read() as conn:
            rows = (
                await conn.execute(
                    select(recipients.c.status, func.count()).group_by(recipients.c.status)
                )
            ).all()
    finally:
        await db.dispose()
    return {status: n for status, n in rows}


async def wait_all_final(database_url: str, total: int, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = await count_by_status(database_url)
        if sum(n for s, n in counts.items() if s in FINAL) == total:
            return counts
        await asyncio.sleep(0.5)
    raise AssertionError(f"not all {total} recipients final after {timeout}s: {counts}")


async def test_two_workers_share_postgresql_without_duplicates(
    pg_database: str, tmp_path: Path
) -> None:
    truncate_pg(pg_database)
    settings = make_settings(pg_database)
    server, task, base_url, gateway = await start_server(settings, dispatch=False)
    try:
        key = (await gateway.keys.create(name="workers")).key
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            for chunk in range(5):
                items = [
                    {"to": f"+49176{chunk:02d}{i:06d}", "text": f"m{chunk}-{i}"}
                    for i in range(1000)
                ]
                r = await client.post(
                    "/api/v1/messages/batch", json={"messages": items}, headers={"X-Api-Key": key}
                )
                assert r.status_code == 202 and not r.json()["errors"]
    finally:
        server.should_exit = True
        await task
    journal = tmp_path / "sends.jsonl"
    env = {
        "SMSBRIDGE_DATABASE_URL": pg_database,
        "SMSBRIDGE_SIMULATOR_JOURNAL": str(journal),
        "SMSBRIDGE_SIMULATOR_LATENCY_MS": "2",
        "SMSBRIDGE_SIMULATOR_DLR_DELAY_MS": "5",
        "SMSBRIDGE_CLAIM_BATCH": "100",
        "SMSBRIDGE_MAX_INFLIGHT": "200",
    }
    workers = [spawn(["worker"], env, tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        counts = await wait_all_final(pg_database, 5000, timeout=120)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=30)
    assert counts == {"delivered": 5000}
    sends = [json.loads(line) for line in journal.read_text().splitlines()]
    per_recipient = Counter(s["recipient_id"] for s in sends)
    assert len(per_recipient) == 5000
    assert max(per_recipient.values()) == 1, "a message was sent twice"
    per_worker = Counter(s["pid"] for s in sends)
    assert len(per_worker) == 2, f"one worker did all the work: {per_worker}"
    assert min(per_worker.values()) > 500


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_sigkill_during_dispatch_loses_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'crash.db'}"
    else:
        database_url = request.getfixturevalue("pg_database")
        truncate_pg(database_url)
    port = free_port()
    journal = tmp_path / "sends.jsonl"
    env = {
        "SMSBRIDGE_DATABASE_URL": database_url,
        "SMSBRIDGE_PORT": str(port),
        "SMSBRIDGE_SIMULATOR_JOURNAL": str(journal),
        "SMSBRIDGE_SIMULATOR_LATENCY_MS": "3",
        "SMSBRIDGE_SIMULATOR_DLR_DELAY_MS": "500",
        "SMSBRIDGE_MAX_INFLIGHT": "50",
        "SMSBRIDGE_CLAIM_BATCH": "50",
        "SMSBRIDGE_LEASE_SECONDS": "3",
        "SMSBRIDGE_REPORT_POLL_AFTER_SECONDS": "2",
    }
    key = subprocess.run(
        [sys.executable, "-m", "smsbridge", "keys", "create"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    log = tmp_path / "serve.log"
    proc = spawn(["serve"], env, log)
    base = f"http://127.0.0.1:{port}"
    accepted: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await _wait_up(client)
            for chunk in range(3):
                items = [
                    {"to": f"+49151{chunk:02d}{i:06d}", "text": f"crash {chunk}-{i}"}
                    for i in range(1000)
                ]
                r = await client.post(
                    "/api/v1/messages/batch", json={"messages": items}, headers={"X-Api-Key": key}
                )
                assert r.status_code == 202
                accepted += [m["id"] for m in r.json()["messages"]]
            # Kill while sends and reports are in flight.
            await _wait_sent(journal, 300)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        before = await count_by_status(database_url)
        assert sum(before.values()) == 3000
        assert sum(n for s, n in before.items() if s in FINAL) < 3000, "killed too late"
        proc = spawn(["serve"], env, log)
        counts = await wait_all_final(database_url, 3000, timeout=120)
        assert set(counts) <= {"delivered"}, counts
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for message_id in accepted[::97]:
                r = await client.get(f"/api/v1/messages/{message_id}", headers={"X-Api-Key": key})
                assert r.json()["status"] == "delivered"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    sends = Counter(json.loads(line)["recipient_id"] for line in journal.read_text().splitlines())
    assert len(sends) == 3000


async def _wait_up(client: httpx.AsyncClient) -> None:
    for _ in range(200):
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("server did not start")


async def _wait_sent(journal: Path, n: int) -> None:
    for _ in range(600):
        if journal.exists() and journal.read_text().count("\n") >= n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("nothing was sent")
