"""A real `smsbridge serve` killed (SIGKILL) while it expands a campaign: after a restart every
contact gets exactly one message, none is lost and none is doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from smsbridge.store.db import Database
from smsbridge.store.schema import messages, recipients
from tests.conftest import free_port
from tests.dispatch.test_processes import _wait_up, spawn

CONTACTS = 30_000


async def recipient_counts(database_url: str) -> tuple[int, int, dict[str, int]]:
    """(recipients, distinct numbers, count per status) over all campaign messages."""
    db = Database.unpooled(database_url)
    try:
        async with db.read() as conn:
            campaign_messages = select(messages.c.id).where(messages.c.campaign_id.is_not(None))
            mine = recipients.c.message_id.in_(campaign_messages)
            total = (await conn.execute(select(func.count()).where(mine))).scalar_one()
            distinct = (
                await conn.execute(
                    select(func.count(func.distinct(recipients.c.to_number))).where(mine)
                )
            ).scalar_one()
            by_status = (
                await conn.execute(
                    select(recipients.c.status, func.count())
                    .where(mine)
                    .group_by(recipients.c.status)
                )
            ).all()
    finally:
        await db.dispose()
    return int(total), int(distinct), {status: int(n) for status, n in by_status}


async def test_sigkill_during_campaign_expansion_loses_and_doubles_nothing(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        "SMSBRIDGE_DATABASE_URL": database_url,
        "SMSBRIDGE_PORT": str(port),
        "SMSBRIDGE_SIMULATOR_LATENCY_MS": "0",
        "SMSBRIDGE_SIMULATOR_DLR_DELAY_MS": "0",
        "SMSBRIDGE_LEASE_SECONDS": "3",
    }
    run_env = {**os.environ, **env}
    csv_path = tmp_path / "contacts.csv"
    csv_path.write_text(
        "phone,firstname\n" + "".join(f"+49176{i:08d},N{i}\n" for i in range(CONTACTS))
    )
    subprocess.run(
        [sys.executable, "-m", "smsbridge", "contacts", "import", str(csv_path), "--group", "all"],
        env=run_env, check=True, capture_output=True,
    )  # fmt: skip
    key = subprocess.run(
        [sys.executable, "-m", "smsbridge", "keys", "create"],
        env=run_env, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    headers = {"X-Api-Key": key}
    log = tmp_path / "serve.log"
    proc = spawn(["serve"], env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await _wait_up(client)
            r = await client.post(
                "/api/v1/campaigns",
                json={"name": "crash", "text": "Hi {{firstname}}", "start": True,
                      "targets": {"groups": ["all"]}},
                headers=headers,
            )  # fmt: skip
            assert r.status_code == 201, r.text
            campaign_id = r.json()["id"]
            for _ in range(2000):
                r = await client.get(f"/api/v1/campaigns/{campaign_id}", headers=headers)
                if r.json()["progress"]["expanded"] > 0:
                    break
                await asyncio.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        expanded, _, _ = await recipient_counts(database_url)
        assert 0 < expanded < CONTACTS, f"killed too late or too early ({expanded} expanded)"
        proc = spawn(["serve"], env, log)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await _wait_up(client)
            deadline = time.monotonic() + 180
            while True:
                r = await client.get(f"/api/v1/campaigns/{campaign_id}", headers=headers)
                if r.json()["state"] == "completed":
                    break
                assert time.monotonic() < deadline, r.json()
                await asyncio.sleep(0.25)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    total, distinct, by_status = await recipient_counts(database_url)
    assert total == CONTACTS
    assert distinct == CONTACTS
    assert set(by_status) <= {"sent", "delivered"}, by_status
