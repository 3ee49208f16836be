"""Benchmark 3: end to end through the simulator (zero latency, immediate delivery reports).

Queues N messages with the dispatcher stopped, then starts one `smsbridge worker` and measures
the time until every recipient is `delivered` (claim -> send -> record -> report -> settle).
Prints messages per second from accepted to delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from _harness import backends, fresh_database, start_server, start_worker
from batch_ingest import bodies, ingest
from sqlalchemy import func, select

from smsbridge.store.db import Database
from smsbridge.store.schema import recipients


async def delivered(database_url: str) -> int:
    db = Database.unpooled(database_url)
    try:
        async with db.read() as conn:
            result = await conn.execute(
                select(func.count()).where(recipients.c.status == "delivered")
            )
            return int(result.scalar_one())
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    payloads = bodies(args.messages, 10_000)
    env = {"SMSBRIDGE_SIMULATOR_LATENCY_MS": "0", "SMSBRIDGE_SIMULATOR_DLR_DELAY_MS": "0"}
    for backend in backends():
        with fresh_database(backend) as url:
            server = start_server(url, worker=False)
            try:
                asyncio.run(ingest(server.base_url, server.key, payloads, 2))
            finally:
                server.stop()
            worker = start_worker(url, env)
            started = time.perf_counter()
            first: tuple[float, int] | None = None  # the clock starts at the first delivery
            try:
                while True:
                    done = asyncio.run(delivered(url))
                    now = time.perf_counter()
                    if first is None and done:
                        first = (now, done)
                    if done >= args.messages:
                        break
                    if now - started > 600:
                        raise SystemExit(f"only {done} delivered after 600 s")
                    time.sleep(0.1)
                assert first is not None
                elapsed = now - first[0]
                counted = args.messages - first[1]
            finally:
                worker.terminate()
                worker.wait(timeout=30)
        print(
            f"end to end   {backend:10s} {args.messages} queued, last {counted} delivered in "
            f"{elapsed:6.2f} s  {counted / elapsed:8.0f} msg/s accepted -> delivered"
        )


if __name__ == "__main__":
    main()
