"""Benchmark 4: a 100,000-recipient campaign, and urgent messages sent while it expands.

Imports N contacts from CSV (`smsbridge contacts import`, timed), starts one gateway process
(`smsbridge serve`, dispatcher included), creates and starts a personalised campaign to them
and reports: seconds from the start request until every recipient is queued (estimate
included), the gateway's peak RSS, and for `priority: high` messages sent during the
expansion the time from acceptance until the dispatcher handed them to the connector.
Targets: <= 10 s, <= 300 MB, <= 1 s (import: < 20 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
from _harness import backends, cli, fresh_database, start_server


def write_csv(path: Path, count: int) -> None:
    with path.open("w") as handle:
        handle.write("phone,firstname,lastname,extra1\n")
        for i in range(count):
            handle.write(f"+49176{i:08d},Name{i},Family{i % 97},code{i % 1000}\n")


def peak_rss_mb(pid: int) -> float:
    """The largest peak RSS of the process and its children (uvicorn's worker processes)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(c) for c in children.read_text().split()]
    peaks = []
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=float("nan"))


def _us(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def urgent_latency(client: httpx.AsyncClient, headers: dict[str, str]) -> float:
    """Seconds from acceptance to `sending` (handed to the connector) of one urgent message."""
    r = await client.post(
        "/api/v1/messages",
        json={"to": "+4915112345678", "text": "urgent", "priority": "high", "no_reload": True},
        headers=headers,
    )
    r.raise_for_status()
    message_id = r.json()["id"]
    while True:
        detail = (await client.get(f"/api/v1/messages/{message_id}", headers=headers)).json()
        history = detail["recipients"][0]["history"]
        sending = [h for h in history if h["status"] == "sending"]
        if sending:
            return _us(sending[0]["at"]) - _us(history[0]["at"])
        await asyncio.sleep(0.02)


async def run_campaign(base_url: str, key: str, total: int) -> tuple[float, list[float]]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        started = time.perf_counter()
        r = await client.post(
            "/api/v1/campaigns",
            json={"name": "bench", "text": "Hi {{firstname}}, your code is {{extra1}}.",
                  "targets": {"groups": ["bench"]}, "start": True},
            headers=headers,
        )  # fmt: skip
        r.raise_for_status()
        campaign_id = r.json()["id"]
        latencies: list[float] = []
        while True:
            body = (await client.get(f"/api/v1/campaigns/{campaign_id}", headers=headers)).json()
            expanded = body["progress"]["expanded"]
            if expanded >= total:
                return time.perf_counter() - started, latencies
            if expanded and len(latencies) < 5:
                latencies.append(await urgent_latency(client, headers))
            await asyncio.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1, help="gateway processes")
    args = parser.parse_args()
    for backend in backends():
        with fresh_database(backend) as url, tempfile.TemporaryDirectory() as tmp:
            csv_path = Path(tmp) / "contacts.csv"
            write_csv(csv_path, args.contacts)
            env = {"SMSBRIDGE_DATABASE_URL": url}
            t0 = time.perf_counter()
            cli(["contacts", "import", str(csv_path), "--group", "bench"], env)
            imported = time.perf_counter() - t0
            server = start_server(url, worker=True, workers=args.workers)
            try:
                seconds, latencies = asyncio.run(
                    run_campaign(server.base_url, server.key, args.contacts)
                )
                rss = peak_rss_mb(server.process.pid)
            finally:
                server.stop()
        worst = max(latencies) if latencies else float("nan")
        print(
            f"campaign     {backend:10s} workers={args.workers} import {args.contacts} "
            f"contacts {imported:5.1f} s; "
            f"campaign queued in {seconds:5.2f} s ({args.contacts / seconds:6.0f}/s), "
            f"gateway peak RSS {rss:5.0f} MB; urgent message to connector max "
            f"{worst * 1000:4.0f} ms over {len(latencies)}"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
