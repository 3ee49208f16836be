"""A fake SMSGate Android phone that speaks the app's device protocol over real HTTP.

It plays capcom6/android-sms-gateway ("SMSGate", package ``me.capcom.smsgateway``) in
private-server mode with the notification channel ``SSE_ONLY``: it registers with
``POST {api_url}/device``, downloads ``/webhooks`` and ``/settings``, listens on the
``/events`` Server-Sent-Events stream, pulls ``/message``, "sends" each message per recipient
on a SIM, reports states with ``PATCH /message`` and posts signed webhooks straight to the
URLs the server handed out. Everything it does is recorded for assertions.

Behaviour follows the app's source (GatewayApi, GatewayService, SSEManager,
SSEForegroundService, EventsRouter, SendStateWorker, MessagesService, MessagesDao,
MessageWithRecipients, webhooks EventsReceiver, WebHooksService, SendWebhookWorker,
WebhookQueueRepository, PayloadSingingPlugin, ReceiverService, extensions/GsonBuilder):

* JSON is written the way the app's Gson writes it: compact, no HTML escaping, dates as
  ``yyyy-MM-dd'T'HH:mm:ss.SSSXXX`` in the device's zone, and **null fields left out** (Gson
  does not serialise nulls), so a registration without a push token carries no ``pushToken``
  key. ``serialize_nulls=True`` writes them as ``null`` instead.
* One ``PATCH /message`` per state change, as the app starts a SendStateWorker for every
  MessageStateChangedEvent: first per recipient ``Processed`` (the message-level state stays
  ``Pending`` until every recipient is processed), then ``Sent``, then ``Delivered`` or
  ``Failed``. The message-level state is computed as MessageWithRecipients.state does (any
  Pending → Pending, any Processed → Processed, all Failed → Failed, all Delivered →
  Delivered, otherwise Sent), and ``states`` is the message's history, ``Pending`` included.
  Reports are sent one after another (snapshots taken when the state changed) and retried with
  exponential backoff, at most ``state_retries`` times, as SendStateWorker does.
* Webhooks: one delivery per matching registration, envelope ``{id, webhookId, event,
  deviceId, payload}``, signed with ``X-Signature`` = hex HMAC-SHA256(signing key, body +
  ``X-Timestamp``), retried on non-2xx or network errors after ``base * 2**(n-1)`` at most
  ``webhooks.retry_count`` (default 15) times.
* Offline is "no data connection": HTTP stops (public calls raise :class:`DeviceOffline`),
  state reports and webhooks wait for the network as WorkManager's CONNECTED constraint makes
  them wait, while the radio keeps sending SMS already pulled and receiving new ones.

Timers that the app takes from its settings (send intervals, limit periods, ping interval)
are multiplied by ``time_scale``; the app's fixed back-off delays are constructor parameters,
so tests can run them in milliseconds.

Modules: ``app`` (the app's names, formats and signatures), ``records`` (what the phone
keeps), ``device`` (:class:`FakeDevice`).
"""

from __future__ import annotations

from smsbridge.testing.fake_device.app import (
    APP_ID,
    APP_VERSION,
    CANCELLED,
    CANCELLING,
    DELIVERED,
    DELIVERY_FAILURE,
    EXTERNAL_EVENTS,
    FAILED,
    LIMIT_PERIODS,
    OKHTTP_USER_AGENT,
    PENDING,
    PRIORITY_EXPEDITED,
    PROCESSED,
    SEND_FAILURE,
    SENT,
    TTL_EXPIRED,
    WEBHOOK_EVENTS,
    ApiError,
    DeviceClosed,
    DeviceOffline,
    FakeDeviceError,
    OutcomeResult,
    format_date,
    gson_dumps,
    inbox_message_id,
    nanoid,
    parse_date,
    parts_count,
    redact,
    sign_webhook,
)
from smsbridge.testing.fake_device.device import FakeDevice
from smsbridge.testing.fake_device.records import (
    DEFAULT_SIMS,
    DeviceMessage,
    Outcome,
    Recipient,
    Registration,
    RequestRecord,
    SentSms,
    SimCard,
    SseEvent,
    StateReport,
    WebhookJob,
    WebhookPost,
)

__all__ = [
    "APP_ID",
    "APP_VERSION",
    "CANCELLED",
    "CANCELLING",
    "DEFAULT_SIMS",
    "DELIVERED",
    "DELIVERY_FAILURE",
    "EXTERNAL_EVENTS",
    "FAILED",
    "LIMIT_PERIODS",
    "OKHTTP_USER_AGENT",
    "PENDING",
    "PRIORITY_EXPEDITED",
    "PROCESSED",
    "SEND_FAILURE",
    "SENT",
    "TTL_EXPIRED",
    "WEBHOOK_EVENTS",
    "ApiError",
    "DeviceClosed",
    "DeviceMessage",
    "DeviceOffline",
    "FakeDevice",
    "FakeDeviceError",
    "Outcome",
    "OutcomeResult",
    "Recipient",
    "Registration",
    "RequestRecord",
    "SentSms",
    "SimCard",
    "SseEvent",
    "StateReport",
    "WebhookJob",
    "WebhookPost",
    "format_date",
    "gson_dumps",
    "inbox_message_id",
    "nanoid",
    "parse_date",
    "parts_count",
    "redact",
    "sign_webhook",
]
