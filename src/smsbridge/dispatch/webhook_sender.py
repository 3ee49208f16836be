"""The webhook sender: claims due deliveries, POSTs them signed, records what happened.

Like the message dispatcher it runs as a pipeline: a claimer keeps up to ``max_inflight``
attempts in flight, each attempt is its own task, and results are written in large batches.
A delivery succeeds on any 2xx answer; anything else is retried with exponential backoff and
jitter until ``give_up_at``, then dead-lettered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge import __version__, tasks
from smsbridge.config import Settings
from smsbridge.core import netguard
from smsbridge.core.errors import ValidationFailed
from smsbridge.core.webhook_signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, new_secret, sign
from smsbridge.dispatch.http_post import HttpPoster, PostError, Response
from smsbridge.dispatch.retry import backoff_seconds
from smsbridge.services import webhook_formats
from smsbridge.store import accounts, deliveries, webhooks
from smsbridge.store.db import Database, now_us
from smsbridge.store.deliveries import DEAD, DONE, GONE, READY, Claimed, Result
from smsbridge.store.group_commit import GroupCommitter

log = logging.getLogger(__name__)
USER_AGENT = f"smsbridge-webhooks/{__version__}"


class Target:
    """Where and how one delivery goes."""

    __slots__ = ("enabled", "headers", "method", "secret", "url")

    def __init__(
        self,
        url: str,
        secret: str,
        headers: list[tuple[str, str]],
        enabled: bool = True,
        method: str | None = None,  # a provider format's request method (seven.io's hooks)
    ) -> None:
        self.url = url
        self.secret = secret
        self.headers = headers
        self.enabled = enabled
        self.method = method


async def _targets(conn: AsyncConnection, claimed: list[Claimed]) -> dict[int, Target | None]:
    """Each claimed delivery's target as of now (None: its subscription is gone)."""
    configs = await webhooks.by_ids(conn, sorted({c.webhook_id for c in claimed if c.webhook_id}))
    secrets: dict[int, str] = {}
    for account_id in sorted({c.account_id for c in claimed if not c.webhook_id}):
        secrets[account_id] = await accounts.callback_secret(conn, account_id, new_secret())
    out: dict[int, Target | None] = {}
    for item in claimed:
        if not item.webhook_id:
            out[item.id] = Target(item.url or "", secrets[item.account_id], [])
            continue
        config = configs.get(item.webhook_id)
        out[item.id] = (
            None
            if config is None
            else Target(
                config["url"],
                config["secret"],
                custom_headers(config["headers"]),
                bool(config["enabled"]),
                config["method"],
            )
        )
    return out


async def post_signed(
    poster: HttpPoster,
    target: Target,
    *,
    event_id: str,
    event_type: str,
    delivery_id: int,
    attempt: int,
    body: bytes,
    deadline_s: float,
    format_: str | None = None,
) -> Response:
    """One signed request (a POST, or a GET for hooks that ask for one); raises PostError when
    no HTTP answer came."""
    request = webhook_formats.wire(format_, target.method, body.decode())
    url = target.url
    if request.query:
        url += ("&" if "?" in url else "?") + request.query
    try:
        parsed = netguard.parse_url(url)
    except ValidationFailed as exc:
        raise PostError(exc.message) from exc
    body = request.body
    timestamp = int(time.time())
    headers = [
        *([("Content-Type", request.content_type)] if request.content_type else []),
        ("User-Agent", USER_AGENT),
        ("X-Smsbridge-Event", event_type),
        ("X-Smsbridge-Event-Id", event_id),
        ("X-Smsbridge-Delivery", str(delivery_id)),
        ("X-Smsbridge-Attempt", str(attempt)),
        (TIMESTAMP_HEADER, str(timestamp)),
        (SIGNATURE_HEADER, sign(target.secret, timestamp, body)),
        *webhook_formats.signature(format_, target.secret, request.method, url, body, timestamp),
        *target.headers,
    ]
    return await poster.post(parsed, headers, body, deadline_s=deadline_s, method=request.method)


def custom_headers(raw: str | None) -> list[tuple[str, str]]:
    if not raw:
        return []
    value: dict[str, str] = orjson.loads(raw)
    return list(value.items())


class WebhookSender:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.poster = HttpPoster(allow_private=settings.webhooks_allow_private)
        self.wake = asyncio.Event()
        self._slots = settings.webhooks_max_inflight
        self._inflight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._rng = random.Random()
        self._stopping = False
        self._claimed: set[int] = set()  # claimed and not yet recorded
        self.results: GroupCommitter[Result] = GroupCommitter(
            self._record, name="webhook-results", max_batch=2000
        )
        self.delivered = 0

    def notify(self) -> None:
        self.wake.set()

    def start(self) -> None:
        self.results.start()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook-sender")

    async def stop(self) -> None:
        """Stop claiming, let attempts in flight finish (up to the timeout), and hand back what
        was claimed but not attempted so that another process takes it at once."""
        self._stopping = True
        self.wake.set()
        if self._task is not None:
            await asyncio.wait([self._task], timeout=5)
            await tasks.cancel(self._task)
            self._task = None
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=self.settings.webhooks_timeout_seconds)
        for task in list(self._inflight):
            await tasks.cancel(task)
        await self.results.stop()
        if self._claimed:
            with contextlib.suppress(Exception):
                async with self.db.write() as conn:
                    await deliveries.release(conn, sorted(self._claimed), now=now_us())
            self._claimed.clear()
        await self.poster.close()

    async def _run(self) -> None:
        idle = self.settings.webhooks_poll_interval_ms / 1000
        while not self._stopping:
            try:
                claimed = await self._claim()
            except Exception:
                log.exception("claiming webhook deliveries failed; trying again")
                await asyncio.sleep(1)
                continue
            if claimed:
                continue
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(idle):
                    await self.wake.wait()

    async def _claim(self) -> int:
        room = self._slots - len(self._inflight)
        if room <= 0:
            await asyncio.sleep(0.005)
            return 0
        now = now_us()
        lease = int((self.settings.webhooks_timeout_seconds + 30) * 1_000_000)
        async with self.db.write(fresh_plans=True) as conn:
            claimed = await deliveries.claim(
                conn, now=now, lease_until=now + lease, limit=min(room, 500)
            )
            # Read with the claim: a changed URL, secret or header applies to the next batch.
            targets = await _targets(conn, claimed) if claimed else {}
        self._claimed.update(item.id for item in claimed)
        loop = asyncio.get_running_loop()
        for item in claimed:
            task = loop.create_task(self._attempt(item, targets.get(item.id)))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return len(claimed)

    async def _attempt(self, item: Claimed, target: Target | None) -> None:
        started = now_us()

        def result(state: str, code: int | None = None, latency: int | None = None,
                   error: str | None = None, retry_at: int | None = None) -> Result:  # fmt: skip
            return Result(item.id, item.webhook_id, item.order_key, item.attempt, started,
                          code, latency, error, state, retry_at)  # fmt: skip

        if target is None:
            # The subscription was deleted: the delivery goes with it.
            self.results.submit_nowait(result(GONE, error="the subscription was deleted"))
            return
        if not target.enabled:
            paused = result(READY, error="the subscription is disabled",
                            retry_at=started + 60_000_000)  # fmt: skip
            self.results.submit_nowait(paused)
            return
        code: int | None = None
        latency: int | None = None
        try:
            response = await post_signed(
                self.poster, target, event_id=item.event_id, event_type=item.event_type,
                delivery_id=item.id, attempt=item.attempt, body=item.payload.encode(),
                deadline_s=self.settings.webhooks_timeout_seconds, format_=item.format,
            )  # fmt: skip
        except PostError as exc:
            error = str(exc)
        except Exception as exc:  # never lose the delivery to a bug in one attempt
            log.exception("webhook delivery %s crashed", item.id)
            error = f"internal error: {exc!r}"
        else:
            code, latency = response.status, response.latency_ms
            if 200 <= code < 300:
                self.delivered += 1
                self.results.submit_nowait(result(DONE, code, latency))
                return
            error = f"HTTP {code}: {response.body[:200].decode('utf-8', 'replace')}"
        retry_at = now_us() + int(self._backoff(item.attempt) * 1_000_000)
        if retry_at > item.give_up_at:
            self.results.submit_nowait(result(DEAD, code, latency, error))
        else:
            self.results.submit_nowait(result(READY, code, latency, error, retry_at))

    def _backoff(self, attempt: int) -> float:
        return backoff_seconds(
            attempt,
            base=self.settings.webhooks_retry_base_seconds,
            cap=self.settings.webhooks_retry_max_seconds,
            rng=self._rng,
        )

    async def _record(self, batch: list[Result]) -> None:
        async with self.db.write(fresh_plans=True) as conn:
            await deliveries.finish(conn, batch, now=now_us())
        self._claimed.difference_update(r.delivery_id for r in batch)
        if any(r.state != READY for r in batch):
            self.wake.set()  # the next delivery of a finished key is ready now
