"""Benchmark 5: webhook deliveries per second, and accept -> delivered-webhook latency.

Starts a gateway process (`smsbridge serve`, dispatcher included, simulator channel with
delivery reports at once) and a webhook receiver in another process (a keep-alive HTTP/1.1
server on loopback), subscribes it to every event, then:

1. throughput: queues N messages through the batch API (each makes three events: queued, sent,
   delivered) and reports deliveries per second at the receiver, from the first to the last;
2. latency: sends single messages at a steady pace and reports, for each, the time from the
   202 answer until its `message.delivered` webhook arrived (p50, p99).

Targets: >= 2,000 deliveries/s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import time
from multiprocessing.connection import Connection
from typing import Any

import httpx
import orjson
from _harness import backends, fresh_database, start_server


def receiver_process(conn: Connection) -> None:
    import uvloop

    from smsbridge.testing.webhook_receiver import WebhookReceiver

    async def main() -> None:
        receiver = await WebhookReceiver().start()
        conn.send(receiver.url)
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command == "stop":
                await receiver.stop()
                return
            records = []
            for item in receiver.received:
                event = orjson.loads(item.body)
                records.append((event["type"], event["data"].get("message_id"), item.at))
            receiver.received.clear()
            conn.send(records)

    uvloop.run(main())


class Receiver:
    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=receiver_process, args=(child,), daemon=True)
        self.process.start()
        self.url: str = self.conn.recv()
        self.records: list[tuple[str, str, float]] = []

    def collect(self) -> list[tuple[str, str, float]]:
        self.conn.send("report")
        self.records.extend(self.conn.recv())
        return self.records

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join(10)


async def throughput(client: httpx.AsyncClient, headers: dict[str, str], receiver: Receiver,
                     messages: int) -> float:  # fmt: skip
    expected = messages * 3
    for start in range(0, messages, 1000):
        batch = [
            {"to": f"+49176{(start + i):08d}", "text": f"bench {start + i}"}
            for i in range(min(1000, messages - start))
        ]
        r = await client.post("/api/v1/messages/batch", json={"messages": batch},
                              headers=headers)  # fmt: skip
        r.raise_for_status()
    deadline = time.time() + 600
    while len(receiver.collect()) < expected and time.time() < deadline:
        await asyncio.sleep(0.5)
    times = sorted(at for _, _, at in receiver.records)
    if len(times) < expected:
        raise RuntimeError(f"only {len(times)} of {expected} webhooks arrived")
    return len(times) / (times[-1] - times[0])


async def latency(client: httpx.AsyncClient, headers: dict[str, str], receiver: Receiver,
                  count: int, rate: float) -> list[float]:  # fmt: skip
    receiver.records.clear()
    receiver.collect()
    receiver.records.clear()
    accepted: dict[str, float] = {}
    for i in range(count):
        r = await client.post("/api/v1/messages", json={"to": f"+49151{i:08d}", "text": "ping"},
                              headers=headers)  # fmt: skip
        r.raise_for_status()
        accepted[r.json()["id"]] = time.time()
        await asyncio.sleep(1 / rate)
    deadline = time.time() + 60
    while time.time() < deadline:
        done = {m: at for t, m, at in receiver.collect() if t == "message.delivered"}
        if len(done.keys() & accepted.keys()) == count:
            return sorted(done[m] - accepted[m] for m in accepted)
        await asyncio.sleep(0.2)
    raise RuntimeError("not every delivered webhook arrived")


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000, help="throughput phase")
    parser.add_argument("--singles", type=int, default=300, help="latency phase")
    parser.add_argument("--rate", type=float, default=50.0, help="latency phase, messages/s")
    args = parser.parse_args()
    for backend in backends():
        receiver = Receiver()
        with fresh_database(backend) as url:
            server = start_server(url, worker=True, extra_env={
                "SMSBRIDGE_WEBHOOKS_ALLOW_PRIVATE": "true",
                "SMSBRIDGE_SIMULATOR_DLR_DELAY_MS": "0",
                "SMSBRIDGE_WEBHOOKS_POLL_INTERVAL_MS": "20",
            })  # fmt: skip
            try:
                result = asyncio.run(run(server.base_url, server.key, receiver, args))
            finally:
                server.stop()
                receiver.stop()
        per_second, lat = result
        print(
            f"webhooks     {backend:10s} {args.messages * 3} deliveries {per_second:7.0f}/s; "
            f"accept -> delivered webhook p50 {pct(lat, 0.5) * 1000:5.0f} ms "
            f"p99 {pct(lat, 0.99) * 1000:5.0f} ms over {len(lat)} messages at {args.rate:g}/s"
        )


async def run(base_url: str, key: str, receiver: Receiver, args: Any) -> tuple[float, list[float]]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        r = await client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["*"]},
                              headers=headers)  # fmt: skip
        r.raise_for_status()
        per_second = await throughput(client, headers, receiver, args.messages)
        lat = await latency(client, headers, receiver, args.singles, args.rate)
    return per_second, lat


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
