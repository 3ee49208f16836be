"""Wires the gateway together from settings: database, services, dispatcher.

Used by the HTTP app, the worker and the CLI; nothing is built at import time.
"""

from __future__ import annotations

import asyncio
import logging

from smsbridge import tasks
from smsbridge.config import Settings
from smsbridge.connectors.android import AndroidConnector
from smsbridge.connectors.base import Connector
from smsbridge.connectors.registry import build_connectors
from smsbridge.core.ids import IdGenerator
from smsbridge.dispatch.device_hub import DeviceHub
from smsbridge.dispatch.dispatcher import Dispatcher
from smsbridge.dispatch.reports import ReportWriter
from smsbridge.dispatch.router import Router
from smsbridge.dispatch.sink import ChannelSink
from smsbridge.dispatch.webhook_sender import WebhookSender
from smsbridge.services.accounts import AccountService
from smsbridge.services.addressing import AddressBook
from smsbridge.services.billing import BillingService
from smsbridge.services.campaign_runner import CampaignRunner
from smsbridge.services.campaigns import CampaignService
from smsbridge.services.contacts import ContactService
from smsbridge.services.conversations import ConversationService
from smsbridge.services.device_accounts import DeviceAccounts
from smsbridge.services.device_messages import IntegratorMessages
from smsbridge.services.device_tokens import IntegratorTokens
from smsbridge.services.devices import DeviceService
from smsbridge.services.drafts import DraftService
from smsbridge.services.events import EventFeed
from smsbridge.services.inbound import InboundService
from smsbridge.services.keys import KeyService
from smsbridge.services.limits import RateLimiter
from smsbridge.services.links import LinkService
from smsbridge.services.messages import MessageService
from smsbridge.services.optouts import OptOutService
from smsbridge.services.phone_reports import PhoneReports
from smsbridge.services.send import SendService
from smsbridge.services.webhook_publisher import WebhookPublisher
from smsbridge.services.webhooks import WebhookService
from smsbridge.store import audit, guards
from smsbridge.store import messages as message_store
from smsbridge.store.db import Database, now_us
from smsbridge.store.group_commit import GroupCommitter
from smsbridge.store.migrate import upgrade
from smsbridge.store.nodes import allocate_node

log = logging.getLogger(__name__)


class Gateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.database_url)
        self.ids = IdGenerator()
        self.dispatcher: Dispatcher | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.ingest: GroupCommitter[message_store.NewMessages] = GroupCommitter(
            self._insert,
            name="ingest",
            max_batch=20_000,
            weight=lambda rows: rows.size,
            on_commit=self._committed,
        )
        self.billing = BillingService(self.db, cache_seconds=settings.auth_cache_seconds)
        self.addresses = AddressBook(settings, self.db)
        self.send = SendService(settings, self.ids, self.ingest, self.billing, self.addresses)
        self.send.on_queued = self._committed
        self.drafts = DraftService(self.send)
        self.campaigns = CampaignService(settings, self.db, self.send, self.billing)
        self.campaign_runner: CampaignRunner | None = None
        self.contacts = ContactService(settings, self.db)
        self.optouts = OptOutService(settings, self.db)
        self.messages = MessageService(self.db)
        self.keys = KeyService(self.db, cache_seconds=settings.auth_cache_seconds)
        self.accounts = AccountService(self.db, self.keys, lambda: self.billing.forget())
        self.limiter = RateLimiter(settings.rate_limit_per_key)
        self.events = EventFeed(self.db)
        self.webhooks = WebhookService(settings, self.db)
        self.inbound = InboundService(settings, self.db, self.send, self._event_committed)
        self.conversations = ConversationService(settings, self.db)
        self.device_hub = DeviceHub()
        self.device_accounts = DeviceAccounts(settings, self.db)
        self.device_tokens = IntegratorTokens(settings, self.db, self.device_accounts)
        self.devices = DeviceService(
            settings, self.db, self.device_hub, self.device_accounts, self._event_committed
        )
        self.phone_reports = PhoneReports(
            self.db, self.devices, self.inbound, self._event_committed
        )
        self.devices.on_requeued = self._committed
        self.send.check_device = self.devices.check
        self.devices.on_fleet_change = self._fleet_changed
        self.messages.on_withdrawn = self.devices.cancelled
        self.device_messages = IntegratorMessages(self.db, self.send, self.messages)
        self.links = LinkService(self.db, self._event_committed)
        self._upkeep: asyncio.Task[None] | None = None
        self.publisher: WebhookPublisher | None = None
        self.webhook_sender: WebhookSender | None = None
        self._housekeeper: asyncio.Task[None] | None = None

    async def _insert(self, batch: list[message_store.NewMessages]) -> None:
        now = now_us()
        async with self.db.write() as conn:
            checks = [check for rows in batch for check in rows.checks]
            refused = await guards.judge(conn, checks, now) if checks else {}
            combined = message_store.NewMessages()
            for rows in batch:
                rows.drop(refused)
                combined.extend(rows)
            balances = await message_store.insert_messages(conn, combined, now)
        for rows in batch:
            rows.balances = balances
            rows.opted_out = combined.opted_out

    async def _watch_changes(self) -> None:
        """Drop cached keys and prices when any process changes them (revocations, suspensions,
        prices, limits all write the audit log): at most ``change_poll_ms`` late."""
        seen = -1
        while True:
            try:
                async with self.db.read() as conn:
                    latest = await audit.latest_id(conn)
                if latest != seen:
                    if seen != -1:
                        self.keys.forget()
                        self.billing.forget()
                    seen = latest
            except Exception:
                log.exception("watching for key changes failed")
            await asyncio.sleep(self.settings.change_poll_ms / 1000)

    def _committed(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.notify()
        self._event_committed()

    def _event_committed(self) -> None:
        """Something that may be an event was committed in this process: publish it now
        rather than at the next poll."""
        if self.publisher is not None:
            self.publisher.notify()

    def connector(self, name: str) -> Connector | None:
        """A channel of this process's dispatcher (None without one)."""
        if self.dispatcher is None:
            return None
        return self.dispatcher.router.connectors.get(name)

    def notify_webhooks(self) -> None:
        """Deliveries were queued again (redelivery): try them now."""
        if self.webhook_sender is not None:
            self.webhook_sender.notify()

    def _published(self) -> None:
        if self.webhook_sender is not None:
            self.webhook_sender.notify()

    def _fleet_changed(self, account_id: int | None) -> None:
        android = self.connector("android")
        if isinstance(android, AndroidConnector):
            android.forget(account_id)

    async def _device_upkeep(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await self.devices.upkeep()
            except Exception:
                log.exception("phone upkeep failed")

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(60)
            try:
                await self.inbound.assemble_stale()
            except Exception:
                log.exception("storing incomplete concatenated SMS failed")

    async def start(
        self,
        *,
        dispatch: bool,
        migrate: bool = True,
        connectors: dict[str, Connector] | None = None,
    ) -> None:
        """Open the database and, with ``dispatch``, start a dispatcher over ``connectors``
        (default: the channels the settings configure)."""
        if migrate:
            await upgrade(self.settings.database_url)
        async with self.db.write() as conn:
            self.ids.node = await allocate_node(conn)
        self.ingest.start()
        self._watcher = asyncio.get_running_loop().create_task(self._watch_changes())
        if dispatch:
            connectors = connectors or build_connectors(
                self.settings, self.db, self.device_hub.publish
            )
            router = Router(connectors, self.settings.channel)
            sink = ChannelSink(ReportWriter(self.db, self._event_committed), self.inbound)
            self.dispatcher = Dispatcher(
                self.db, router, self.settings, sink, on_recorded=self._event_committed
            )
            await self.dispatcher.start()
            log.info("dispatcher %s started", self.dispatcher.worker)
            self.campaign_runner = CampaignRunner(self.db, self.send, self.billing, self._committed)
            self.campaign_runner.start()
            self.webhook_sender = WebhookSender(self.db, self.settings)
            self.webhook_sender.start()
            self.publisher = WebhookPublisher(self.db, self.settings, self._published)
            self.publisher.start()
            self._housekeeper = asyncio.get_running_loop().create_task(self._housekeeping())
            self._upkeep = asyncio.get_running_loop().create_task(self._device_upkeep())

    async def stop(self) -> None:
        await tasks.cancel(self._watcher)
        self._watcher = None
        await tasks.cancel(self._housekeeper)
        self._housekeeper = None
        await tasks.cancel(self._upkeep)
        self._upkeep = None
        if self.campaign_runner is not None:
            await self.campaign_runner.stop()
            self.campaign_runner = None
        await self.ingest.stop()
        if self.dispatcher is not None:
            await self.dispatcher.stop()
            self.dispatcher = None
        if self.publisher is not None:
            await self.publisher.stop()
            self.publisher = None
        if self.webhook_sender is not None:
            await self.webhook_sender.stop()
            self.webhook_sender = None
        await self.webhooks.close()
        await self.db.dispose()
