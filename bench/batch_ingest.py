"""Benchmark 2: batch ingest of 100,000 messages (10 requests of 10,000, 2 at a time).

Bodies are encoded before the clock starts. Prints messages per second until committed (a
batch reply is sent only after its transaction committed).
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx
import orjson
from _harness import backends, fresh_database, start_server


def bodies(total: int, per_request: int) -> list[bytes]:
    out = []
    for start in range(0, total, per_request):
        items = [
            {"to": f"+49176{n:08d}", "text": f"Reminder {n}: your appointment is tomorrow 10:00"}
            for n in range(start, min(total, start + per_request))
        ]
        out.append(orjson.dumps({"messages": items}))
    return out


async def ingest(base_url: str, key: str, payloads: list[bytes], concurrency: int) -> float:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    queue = list(payloads)
    async with httpx.AsyncClient(base_url=base_url, timeout=300, headers=headers) as client:
        await client.get("/health")

        async def lane() -> None:
            while queue:
                body = queue.pop()
                r = await client.post("/api/v1/messages/batch", content=body)
                if r.status_code != 202 or b'"errors":[]' not in r.content:
                    raise RuntimeError(r.text[:500])

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--per-request", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="HTTP worker processes")
    args = parser.parse_args()
    payloads = bodies(args.messages, args.per_request)
    for backend in backends():
        with fresh_database(backend) as url:
            server = start_server(url, worker=False, workers=args.workers)
            try:
                elapsed = asyncio.run(
                    ingest(server.base_url, server.key, payloads, args.concurrency)
                )
            finally:
                server.stop()
        print(
            f"batch ingest {backend:10s} workers={args.workers} concurrency={args.concurrency} "
            f"{args.messages} messages in {elapsed:6.2f} s  "
            f"{args.messages / elapsed:8.0f} msg/s committed"
        )


if __name__ == "__main__":
    main()
