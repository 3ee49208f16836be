"""Benchmark 6: the `android` channel with 10 fake SMSGate phones.

Starts a gateway process (`smsbridge serve`, dispatcher included) and, in another process,
10 fake phones (`smsbridge.testing.fake_device.FakeDevice`) that register with the account's
private token, keep an SSE stream on `/api/mobile/v1/events`, pull `/message` on
`MessageEnqueued`, "send" at once and report Processed, Sent and Delivered with `PATCH /message`
and signed `sms:*` webhooks, as the app does. Then:

1. throughput: queues N messages to distinct numbers through the batch API with
   `channel: android` and reports messages per second from the first batch's 202 until every
   recipient is `delivered`, and for each message the time from its 202 until a phone's pull
   returned it (p50, p99; under saturation this is mostly time spent waiting in the queues),
   and how long the phones' calls to the server took meanwhile; a line says so when delivery
   stalls for 5 s with rows left on the phones' queues;
2. latency: sends single messages at a steady pace and reports the same accept -> pull time
   (p50, p99), split on the server's clock into accept -> on a phone's queue (dispatcher) and
   on the queue -> taken by a pull (SSE event and pull).

Both phases use distinct numbers (+49176123xxxxx, +49176124xxxxx); the second starts once the
phones have been quiet for a second. Target: accept -> pull p99 <= 200 ms.
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
from sqlalchemy import func, select

from smsbridge.config import Settings
from smsbridge.gateway import Gateway
from smsbridge.store.db import Database
from smsbridge.store.schema import device_messages, recipients

BULK_PREFIX = "+49176123"  # throughput phase: +49176123xxxxx
SINGLE_PREFIX = "+49176124"  # latency phase


def phones_process(conn: Connection, count: int) -> None:
    """Hosts `count` fake phones; answers the bench's commands over a pipe."""
    import uvloop

    from smsbridge.testing.fake_device import FakeDevice

    class TimedPhone(FakeDevice):
        """Notes when a pull returned each number (one recipient per pulled message) and how
        long each of its calls to the server took."""

        pulled_at: dict[str, float]
        timings: dict[str, list[float]]

        async def pull(self) -> list[dict[str, Any]]:
            answer = await super().pull()
            now = time.time()
            for message in answer:
                for number in message.get("phoneNumbers") or ():
                    self.pulled_at.setdefault(number, now)
            return answer

        async def _api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
            started = time.perf_counter()
            try:
                return await super()._api(method, path, **kwargs)
            finally:
                call = f"{method} {path.split('?')[0]}"
                self.timings.setdefault(call, []).append(time.perf_counter() - started)

        async def _post_webhook(self, job: Any) -> bool:
            started = time.perf_counter()
            try:
                return await super()._post_webhook(job)
            finally:
                self.timings.setdefault("POST hooks", []).append(time.perf_counter() - started)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        api_url, token = await loop.run_in_executor(None, conn.recv)
        phones: list[TimedPhone] = []
        for i in range(count):
            phone = TimedPhone(
                product=f"bench_phone_{i}",
                state_retry_delay=0.05,
                webhook_retry_delay=0.05,
                sse_reconnect_delays=(0.1, 0.5, 1.0),
            )
            phone.pulled_at, phone.timings = {}, {}
            await phone.register(api_url, token)
            phones.append(phone)
        for phone in phones:
            await phone.wait_connected()
        conn.send([p.device_id for p in phones])
        errors_seen = 0
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command == "stop":
                for phone in phones:
                    await phone.close()
                conn.send("stopped")
                return
            pulled: dict[str, float] = {}
            timings: dict[str, list[float]] = {}
            errors: list[str] = []
            for phone in phones:
                pulled.update(phone.pulled_at)
                phone.pulled_at.clear()
                for call, seconds in phone.timings.items():
                    timings.setdefault(call, []).extend(seconds)
                phone.timings.clear()
                errors.extend(phone.errors)
            conn.send(
                {
                    "pulled": pulled,
                    "timings": timings,
                    "sent": sum(len(p.sent) for p in phones),
                    "pulls": sum(p.pulls for p in phones),
                    "errors": errors[errors_seen:],
                }
            )
            errors_seen = len(errors)

    uvloop.run(main())


class Phones:
    """The phones' process, seen from the bench."""

    def __init__(self, count: int) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=phones_process, args=(child, count), daemon=True)
        self.process.start()
        self.pulled: dict[str, float] = {}
        self.timings: dict[str, list[float]] = {}
        self.sent = 0
        self.pulls = 0
        self.errors: list[str] = []

    def register(self, api_url: str, token: str) -> list[str]:
        self.conn.send((api_url, token))
        ids: list[str] = self.conn.recv()
        return ids

    def collect(self) -> dict[str, float]:
        self.conn.send("report")
        report = self.conn.recv()
        self.pulled.update(report["pulled"])
        for call, seconds in report["timings"].items():
            self.timings.setdefault(call, []).extend(seconds)
        self.sent, self.pulls = report["sent"], report["pulls"]
        self.errors.extend(report["errors"])
        return self.pulled

    def stop(self) -> None:
        if self.process.is_alive():
            self.conn.send("stop")
            if self.conn.poll(30):
                self.conn.recv()
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


async def private_token(database_url: str, key: str) -> str:
    """The account's private token (what `smsbridge devices token` would print)."""
    gateway = Gateway(Settings(database_url=database_url))
    try:
        account_id = (await gateway.keys.authenticate(key)).account_id
        return (await gateway.device_accounts.ensure(account_id)).private_token
    finally:
        await gateway.db.dispose()


async def delivered(db: Database, prefix: str) -> int:
    async with db.read() as conn:
        result = await conn.execute(
            select(func.count()).where(
                recipients.c.status == "delivered", recipients.c.to_number.like(prefix + "%")
            )
        )
        return int(result.scalar_one())


async def waiting_on_phones(db: Database) -> dict[str, int]:
    """Queue rows no phone has pulled yet, per phone."""
    query = (
        select(device_messages.c.device_id, func.count())
        .where(device_messages.c.state == "Pending")
        .group_by(device_messages.c.device_id)
    )
    async with db.read() as conn:
        return {str(d): int(n) for d, n in (await conn.execute(query)).all()}


async def wait_delivered(db: Database, prefix: str, count: int, phones: Phones) -> float:
    """Poll until `count` recipients are delivered; the time it was seen. Says so when
    nothing moved for 5 s while rows wait on the phones' queues."""
    deadline = time.time() + 600
    progress, moved_at, warned = -1, time.time(), False
    while True:
        done = await delivered(db, prefix)
        now = time.time()
        if done >= count:
            return now
        if done != progress:
            progress, moved_at = done, now
        elif now - moved_at > 5 and not warned:
            warned = True
            waiting = await waiting_on_phones(db)
            print(
                f"devices      stalled at {done} of {count} delivered for 5 s; rows not pulled: "
                f"{sum(waiting.values())} on {len(waiting)} phones {sorted(waiting.values())}"
            )
        if now > deadline:
            phones.collect()
            raise RuntimeError(
                f"only {done} of {count} delivered after 600 s; phones sent {phones.sent}, "
                f"pulled {len(phones.pulled)}; errors: {phones.errors[:5]}"
            )
        await asyncio.sleep(0.05)


def wait_quiet(phones: Phones) -> float:
    """Wait until the phones made no call for a second (reports and webhooks of the last
    phase all sent); about when their last call ended."""
    deadline = time.time() + 120
    calls, quiet_since = -1, time.time()
    while time.time() < deadline:
        phones.collect()
        now, count = time.time(), sum(map(len, phones.timings.values()))
        if count != calls:
            calls, quiet_since = count, now
        elif now - quiet_since >= 1.0:
            return quiet_since
        time.sleep(0.1)
    raise RuntimeError("the phones kept calling the server for 120 s")


def wait_pulled(phones: Phones, numbers: list[str]) -> dict[str, float]:
    deadline = time.time() + 60
    while True:
        pulled = phones.collect()
        if all(n in pulled for n in numbers):
            return pulled
        if time.time() > deadline:
            missing = [n for n in numbers if n not in pulled]
            raise RuntimeError(f"{len(missing)} messages never pulled, e.g. {missing[:3]}")
        time.sleep(0.2)


async def throughput(client: httpx.AsyncClient, db: Database, phones: Phones,
                     messages: int) -> dict[str, Any]:  # fmt: skip
    accepted: dict[str, float] = {}
    for start in range(0, messages, 1000):
        numbers = [f"{BULK_PREFIX}{n:05d}" for n in range(start, min(messages, start + 1000))]
        body = orjson.dumps(
            {"messages": [{"to": n, "text": f"bench {n}", "channel": "android"} for n in numbers]}
        )
        r = await client.post("/api/v1/messages/batch", content=body)
        if r.status_code != 202 or r.json()["errors"]:
            raise RuntimeError(r.text[:500])
        now = time.time()
        accepted.update(dict.fromkeys(numbers, now))
    first = min(accepted.values())
    done_at = await wait_delivered(db, BULK_PREFIX, messages, phones)
    pulled = wait_pulled(phones, list(accepted))
    quiet_at = wait_quiet(phones)
    calls = {call: sorted(seconds) for call, seconds in phones.timings.items()}
    phones.timings.clear()
    return {
        "per_second": messages / (done_at - first),
        "bulk": sorted(pulled[n] - accepted[n] for n in accepted),
        "calls": calls,
        "calls_per_second": sum(map(len, calls.values())) / (quiet_at - first),
        "tail": max(0.0, quiet_at - done_at),
    }


async def latency(client: httpx.AsyncClient, db: Database, phones: Phones, count: int,
                  rate: float) -> list[float]:  # fmt: skip
    accepted: dict[str, float] = {}
    started = time.time()
    for i in range(count):
        number = f"{SINGLE_PREFIX}{i:05d}"
        r = await client.post(
            "/api/v1/messages", json={"to": number, "text": "ping", "channel": "android"}
        )
        r.raise_for_status()
        accepted[number] = time.time()
        await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.time()))
    await wait_delivered(db, SINGLE_PREFIX, count, phones)
    pulled = wait_pulled(phones, list(accepted))
    return sorted(pulled[n] - accepted[n] for n in accepted)


async def server_split(db: Database, prefix: str) -> tuple[list[float], list[float]]:
    """On the server's clock: accepted -> on a phone's queue, and on the queue -> pulled."""
    query = (
        select(recipients.c.created_at, device_messages.c.created_at, device_messages.c.taken_at)
        .join(device_messages, device_messages.c.recipient_id == recipients.c.id)
        .where(recipients.c.to_number.like(prefix + "%"))
    )
    async with db.read() as conn:
        rows = (await conn.execute(query)).all()
    queued = sorted((q - a) / 1e6 for a, q, _ in rows)
    taken = sorted((t - q) / 1e6 for _, q, t in rows if t is not None)
    return queued, taken


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p))]


def ms(values: list[float]) -> str:
    return f"p50 {pct(values, 0.5) * 1000:5.0f} ms p99 {pct(values, 0.99) * 1000:5.0f} ms"


async def run(base_url: str, database_url: str, key: str, phones: Phones,
              args: Any) -> dict[str, Any]:  # fmt: skip
    token = await private_token(database_url, key)
    phones.register(f"{base_url}/api/mobile/v1", token)
    phones.collect()
    phones.timings.clear()  # registration's calls
    db = Database(database_url)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=120, headers=headers) as client:
            result = await throughput(client, db, phones, args.messages)
            result["singles"] = await latency(client, db, phones, args.singles, args.rate)
        result["queued"], result["taken"] = await server_split(db, SINGLE_PREFIX)
    finally:
        await db.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5_000, help="throughput phase")
    parser.add_argument("--singles", type=int, default=300, help="latency phase")
    parser.add_argument("--rate", type=float, default=20.0, help="latency phase, messages/s")
    parser.add_argument("--phones", type=int, default=10)
    args = parser.parse_args()
    for backend in backends():
        with fresh_database(backend) as url:
            server = start_server(url, worker=True, extra_env={
                "SMSBRIDGE_POLL_INTERVAL_MS": "20",
                "SMSBRIDGE_DEVICES_POLL_INTERVAL_MS": "50",
            })  # fmt: skip
            phones = Phones(args.phones)
            try:
                result = asyncio.run(run(server.base_url, url, server.key, phones, args))
            finally:
                phones.stop()  # first: the server waits for open event streams to end
                server.stop()
        if phones.errors:
            print(f"devices      {backend:10s} phone errors: {phones.errors[:5]}")
        print(
            f"devices      {backend:10s} {args.phones} phones, {args.messages} messages "
            f"{result['per_second']:6.0f} msg/s accepted -> delivered; "
            f"accept -> pull {ms(result['bulk'])} (saturated)"
        )
        calls = "; ".join(
            f"{call} {ms(seconds)}"
            for call, seconds in sorted(result["calls"].items(), key=lambda kv: -len(kv[1]))
        )
        print(
            f"devices      {backend:10s} phones' calls {result['calls_per_second']:4.0f}/s, "
            f"the last {result['tail']:4.1f} s after all were delivered: {calls}"
        )
        print(
            f"devices      {backend:10s} {args.singles} singles at {args.rate:g}/s: "
            f"accept -> pull {ms(result['singles'])}; server side: accept -> phone queue "
            f"{ms(result['queued'])}, queue -> pulled {ms(result['taken'])}"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
