"""Tables, as SQLAlchemy Core metadata (the migrations create exactly this).

Times are integer microseconds since the Unix epoch: exact, orderable and identical on SQLite and
PostgreSQL. The ``recipients`` table is the outbox: one row per destination number, claimed by
dispatchers through the partial index ``ix_recipients_due``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# Keys are INTEGER on SQLite so that they alias the rowid (a BIGINT key would need a separate
# unique index); SQLite integers are 64-bit either way.
AutoId = BigInteger().with_variant(Integer(), "sqlite")
Id = AutoId

accounts = Table(
    "accounts",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("default_region", String(2)),
    Column("default_sender", String(16)),
    # National shift tables the account allows, comma-separated (e.g. "turkish").
    Column("national_languages", String(64)),
    Column("created_at", BigInteger, nullable=False),
    Column("email", String(254)),
    Column("password_hash", String(200)),
    # active | suspended: a suspended account's keys stop working at once.
    Column("status", String(16), nullable=False, server_default="active"),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    # Credits, in micro-credits (1 credit = 1,000,000). Prepaid accounts cannot go below 0;
    # the others run a tab (the balance records usage).
    Column("balance", BigInteger, nullable=False, server_default=text("0")),
    Column("prepaid", Boolean, nullable=False, server_default=text("false")),
    Column("price_default", BigInteger),  # per part; NULL: the gateway default (1 credit)
    Column("price_high_surcharge", BigInteger, nullable=False, server_default=text("0")),
    # unsent: cancelled and never-sent recipients are refunded; none: nothing is refunded.
    Column("refund_policy", String(16), nullable=False, server_default="unsent"),
    # Requests per second per key; NULL: the gateway default (SMSBRIDGE_RATE_LIMIT_PER_KEY).
    Column("rate_limit", Integer),
    # The same text to the same number within this many seconds is refused (0: never).
    Column("reload_window", Integer, nullable=False, server_default=text("180")),
    # At most this many messages per recipient number per day (account time zone; NULL: no cap).
    Column("daily_cap", Integer),
    # Password login: failures in a row, and until when login is locked after too many.
    Column("failed_logins", Integer, nullable=False, server_default=text("0")),
    Column("locked_until", BigInteger),
    # Signs deliveries to per-message callback URLs (subscriptions have their own secrets).
    Column("callback_secret", String(64)),
    UniqueConstraint("email", name="uq_accounts_email"),
)

# Price per part by destination prefix (E.164 digits without +); the longest prefix wins.
prices = Table(
    "prices",
    metadata,
    Column("account_id", BigInteger, ForeignKey("accounts.id"), primary_key=True),
    Column("prefix", String(15), primary_key=True),
    Column("price", BigInteger, nullable=False),
)

# Nonces of signed requests, so that none is accepted twice (kept past the 30 s window).
nonces = Table(
    "nonces",
    metadata,
    Column("key_id", BigInteger, primary_key=True),
    Column("nonce", String(128), primary_key=True),
    Column("seen_at", BigInteger, nullable=False, index=True),
)

# Every change of a balance.
ledger = Table(
    "ledger",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("delta", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("reason", String(32), nullable=False),  # charge | refund | credit
    Column("message_id", BigInteger),
    Column("note", Text),
    Index("ix_ledger_account", "account_id", "id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
    Column("scopes", Text, nullable=False, server_default=""),  # comma-separated
    Column("expires_at", BigInteger),
    Column("ip_allow", Text),  # comma-separated CIDRs; NULL allows every address
    Column("require_signature", Boolean, nullable=False, server_default=text("false")),
    # Kept readable: verifying an HMAC needs the secret itself.
    Column("signing_secret", String(64)),
)

# Who did what: keys created and revoked, accounts created, suspended and resumed, ...
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("account_id", BigInteger, index=True),
    Column("actor", String(100), nullable=False),  # "cli", "key:12", ...
    Column("action", String(64), nullable=False),
    Column("detail", Text),  # JSON
)

# Allocates a distinct id-generator node to each process sharing the database.
id_nodes = Table(
    "id_nodes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("counter", BigInteger, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("sender", String(16)),
    Column("encoding", String(8), nullable=False),
    # National shift tables the text was segmented with (comma-separated), if any.
    Column("languages", String(64)),
    Column("parts", SmallInteger, nullable=False),
    Column("concat_ref", SmallInteger, nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("flash", Boolean, nullable=False),
    Column("test", Boolean, nullable=False),
    Column("foreign_id", String(64)),
    Column("label", String(100)),
    Column("recipient_count", Integer, nullable=False),
    Column("price", BigInteger, nullable=False, server_default=text("0")),  # micro-credits
    Column("created_at", BigInteger, nullable=False),
    Column("send_at", BigInteger),
    Column("expires_at", BigInteger),
    # A draft collects recipients over several calls and is priced and queued when closed.
    Column("draft", Boolean, nullable=False, server_default=text("false")),
    # Sent even to opted-out numbers (one-time codes and other transactional messages).
    Column("transactional", Boolean, nullable=False, server_default=text("false")),
    Column("channel", String(64)),  # the channel asked for; NULL: the router's choice
    # Drafts: how recipients added later are rendered (JSON: encoding, missing_fields, ...).
    Column("draft_options", Text),
    Column("campaign_id", BigInteger),
    Column("callback_url", Text),  # status webhooks for this message only
    # The payload format of callback_url: NULL is smsbridge's own, else a provider's.
    Column("callback_format", String(16)),
    # Phones: the device and SIM slot asked for (NULL: the router's choice).
    Column("device_id", String(32)),
    Column("sim", SmallInteger),
    # The id an SMSGate integrator gave the message (unique per account).
    Column("ext_id", String(36)),
    # JSON of what only phones understand: {"encrypted", "report", "data_port"}.
    Column("device_options", Text),
    # Binary SMS: the sender's own user data header (hex); the text is the data (hex).
    Column("udh", String(280)),
    # What the door that accepted the message keeps to describe it later in its own terms
    # (JSON; messaggisms: the exact priority and each recipient's fields).
    Column("door_data", Text),
    Index("ix_messages_account", "account_id", "id"),
    Index(
        "ix_messages_ext_id",
        "account_id",
        "ext_id",
        unique=True,
        sqlite_where=text("ext_id IS NOT NULL"),
        postgresql_where=text("ext_id IS NOT NULL"),
    ),
    Index(
        "ix_messages_campaign",
        "campaign_id",
        sqlite_where=text("campaign_id IS NOT NULL"),
        postgresql_where=text("campaign_id IS NOT NULL"),
    ),
    # Partial: most messages carry neither, and bulk ingest then skips these indexes.
    Index(
        "ix_messages_foreign_id",
        "account_id",
        "foreign_id",
        sqlite_where=text("foreign_id IS NOT NULL"),
        postgresql_where=text("foreign_id IS NOT NULL"),
    ),
    Index(
        "ix_messages_label",
        "account_id",
        "label",
        sqlite_where=text("label IS NOT NULL"),
        postgresql_where=text("label IS NOT NULL"),
    ),
)

recipients = Table(
    "recipients",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("message_id", BigInteger, ForeignKey("messages.id"), nullable=False, index=True),
    Column("account_id", BigInteger, nullable=False),
    Column("position", Integer, nullable=False),
    # E.164; end-to-end encrypted messages to phones carry the ciphertext of the number.
    Column("to_number", String(255), nullable=False),
    Column("price", BigInteger, nullable=False, server_default=text("0")),  # micro-credits
    Column("status", String(16), nullable=False),
    Column("error_code", String(64)),
    Column("error_message", Text),
    Column("priority", SmallInteger, nullable=False),
    # When the dispatcher may next take it; NULL once it needs no dispatching (test, final).
    Column("due_at", BigInteger),
    Column("expires_at", BigInteger),
    Column("attempts", SmallInteger, nullable=False, server_default=text("0")),
    Column("lease_until", BigInteger),
    Column("claimed_by", String(64)),
    Column("channel", String(64)),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # Personalised text ({{placeholders}} filled in) and its encoding and part count; NULL:
    # the message's own.
    Column("text", Text),
    Column("encoding", String(8)),
    Column("parts", SmallInteger),
    Index(
        "ix_recipients_due",
        "priority",
        "due_at",
        sqlite_where=text("due_at IS NOT NULL"),
        postgresql_where=text("due_at IS NOT NULL"),
    ),
    Index("ix_recipients_account_to", "account_id", "to_number"),
    Index(
        "ix_recipients_sent",
        "updated_at",
        sqlite_where=text("status = 'sent'"),
        postgresql_where=text("status = 'sent'"),
    ),
)

# Every transition after acceptance (the accepted state itself is the recipient's created_at).
recipient_events = Table(
    "recipient_events",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("recipient_id", BigInteger, nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("detail", Text),
    Column("txid", BigInteger),  # see the journal below
)

# One row per SMS part handed to a channel, keyed by the channel's own message id so that
# delivery reports can be correlated.
parts = Table(
    "parts",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("recipient_id", BigInteger, nullable=False, index=True),
    Column("seq", SmallInteger, nullable=False),
    Column("channel", String(64), nullable=False),
    Column("provider_id", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error_code", String(64)),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("channel", "provider_id", name="uq_parts_provider"),
)

# Reports whose provider id is not known yet (they can overtake the send confirmation).
orphan_reports = Table(
    "orphan_reports",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),
    Column("provider_id", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error_code", String(64)),
    Column("received_at", BigInteger, nullable=False),
    Index("ix_orphan_reports_provider", "channel", "provider_id"),
)

# The address book. Phone numbers are E.164 and unique per account.
contacts = Table(
    "contacts",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("firstname", String(100)),
    Column("lastname", String(100)),
    Column("birthday", String(10)),  # yyyy-mm-dd
    Column("email", String(254)),
    *(Column(f"extra{i}", Text) for i in range(1, 11)),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("account_id", "phone", name="uq_contacts_phone"),
    # Campaign expansion and listing walk an account's contacts in id order.
    Index("ix_contacts_account", "account_id", "id"),
)

groups = Table(
    "groups",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("account_id", "name", name="uq_groups_name"),
)

group_members = Table(
    "group_members",
    metadata,
    Column("group_id", BigInteger, ForeignKey("groups.id"), primary_key=True),
    Column("contact_id", BigInteger, ForeignKey("contacts.id"), primary_key=True),
    Index("ix_group_members_contact", "contact_id"),
)

# Numbers that asked not to be messaged (a contact's ``unsubscribed`` is its row here).
opt_outs = Table(
    "opt_outs",
    metadata,
    Column("account_id", BigInteger, ForeignKey("accounts.id"), primary_key=True),
    Column("number", String(32), primary_key=True),
    Column("source", String(32), nullable=False),  # api | contact | import | keyword
    Column("created_at", BigInteger, nullable=False),
)

# Newsletters: a template sent to groups, contacts and numbers, expanded in chunks by the
# campaign runner into one message (per run) whose recipients carry the rendered texts.
campaigns = Table(
    "campaigns",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),  # once | birthday
    Column("text", Text, nullable=False),
    Column("targets", Text, nullable=False),  # JSON: {"groups": [...], "contacts": [...], ...}
    Column("options", Text, nullable=False),  # JSON: sender, label, ttl, channel, ...
    Column("state", String(16), nullable=False),
    Column("send_at", BigInteger),
    Column("throttle", Integer),  # messages per minute; NULL: as fast as the channel takes
    Column("quiet_start", SmallInteger),  # minutes after local midnight
    Column("quiet_end", SmallInteger),
    Column("birthday_at", SmallInteger),  # birthday campaigns: minutes after local midnight
    Column("last_run_day", String(10)),  # birthday campaigns: the local day last sent
    # Expansion: the message being filled, how far it got, and the next due time it hands out.
    Column("message_id", BigInteger),
    Column("phase", SmallInteger, nullable=False, server_default=text("0")),
    Column("cursor", BigInteger, nullable=False, server_default=text("0")),
    Column("expanded", Integer, nullable=False, server_default=text("0")),
    Column("total", Integer),  # recipients counted when started (the price estimate's count)
    Column("next_due", BigInteger),
    # Which process expands the campaign, until when (others leave it alone meanwhile).
    Column("runner", String(64)),
    Column("lease_until", BigInteger),
    Column("state_reason", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("started_at", BigInteger),
    Column("finished_at", BigInteger),
    Index("ix_campaigns_account", "account_id", "id"),
    Index("ix_campaigns_state", "state"),
)

# Tailed tables (recipient_events, journal) carry, on PostgreSQL, the id of the transaction
# that wrote each row (``pg_current_xact_id()``, set by a column default). Readers take rows in
# (txid, id) order below the oldest transaction still running, so a row committed late never
# slips behind a reader's position. SQLite has one writer at a time: its ids are commit order
# and txid stays NULL.

# Events that are not a recipient's state change: messages accepted (as id lists, one row per
# commit), inbound SMS, campaign progress, devices going on- and offline.
journal = Table(
    "journal",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("txid", BigInteger),
    Column("account_id", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("ref", BigInteger),
    Column("data", Text),  # JSON
    Column("at", BigInteger, nullable=False),
    sqlite_autoincrement=True,
)

# Where each reader of the event feed got to (the webhook publisher's position).
feed_cursors = Table(
    "feed_cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", String(200), nullable=False),
)

# Jobs one process at a time does (the webhook publisher): who, until when.
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("until", BigInteger, nullable=False),
)

# Received SMS, reassembled; linked to the last message sent to that number.
inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("device", String(64)),
    Column("sim", SmallInteger),
    Column("from_number", String(32), nullable=False),
    Column("to_number", String(32)),
    Column("text", Text, nullable=False),
    Column("parts", SmallInteger, nullable=False),
    Column("incomplete", Boolean, nullable=False, server_default=text("false")),
    Column("provider_id", String(128)),  # the channel's own id, to drop redeliveries
    Column("received_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("reply_to", BigInteger),  # message id
    Column("keyword", String(16)),  # stop | start
    Column("read_at", BigInteger),
    Index("ix_inbound_account", "account_id", "id"),
    Index("ix_inbound_from", "account_id", "from_number", "id"),
    Index(
        "ix_inbound_provider",
        "channel",
        "provider_id",
        unique=True,
        sqlite_where=text("provider_id IS NOT NULL"),
        postgresql_where=text("provider_id IS NOT NULL"),
    ),
)

# Parts of concatenated inbound SMS waiting for their siblings.
inbound_parts = Table(
    "inbound_parts",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),
    Column("from_number", String(32), nullable=False),
    Column("ref", Integer, nullable=False),
    Column("total", SmallInteger, nullable=False),
    Column("seq", SmallInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("to_number", String(32)),
    Column("account_id", BigInteger),
    Column("device", String(64)),
    Column("sim", SmallInteger),
    Column("received_at", BigInteger, nullable=False),
    UniqueConstraint("channel", "from_number", "ref", "total", "seq", name="uq_inbound_parts"),
    Index("ix_inbound_parts_received", "received_at"),
)

# One row per number that wrote to an account: the thread's inbound side and unread count.
conversations = Table(
    "conversations",
    metadata,
    Column("account_id", BigInteger, ForeignKey("accounts.id"), primary_key=True),
    Column("number", String(32), primary_key=True),
    Column("last_inbound_id", BigInteger, nullable=False),
    Column("last_inbound_at", BigInteger, nullable=False),
    Column("unread", Integer, nullable=False, server_default=text("0")),
    Column("inbound_count", Integer, nullable=False, server_default=text("0")),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_conversations_recent", "account_id", "last_inbound_at"),
)

# Webhook subscriptions.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),  # comma-separated event types or "*"
    Column("label", String(100)),  # only messages with this label
    Column("campaign_id", BigInteger),  # only this campaign's messages and events
    Column("headers", Text),  # JSON object sent with every delivery
    Column("secret", String(128), nullable=False),
    Column("description", String(200)),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # Payload format: "smsbridge", or a provider's ("seven", "smsgateway24", ...).
    Column("format", String(16), nullable=False, server_default=text("'smsbridge'")),
    Column("method", String(8)),  # seven.io's request_method: GET, POST (form) or JSON
)

# The webhook outbox: one row per event and target (a subscription, or webhook_id 0 for a
# message's own callback_url). Rows sharing an order key (one recipient's events) go out one
# after another: later ones wait until the earlier one is delivered or dead-lettered.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, nullable=False),
    Column("webhook_id", BigInteger, nullable=False),
    Column("url", Text),  # callback deliveries: the message's callback_url
    Column("event_id", String(40), nullable=False),
    Column("event_type", String(32), nullable=False),
    Column("order_key", BigInteger, nullable=False),  # 0: no ordering
    Column("payload", Text, nullable=False),  # the body as sent (rendered in its format)
    Column("format", String(16)),  # NULL: smsbridge's own
    Column("state", String(8), nullable=False),  # waiting | ready | done | dead
    Column("due_at", BigInteger),  # when to try (or the end of a running attempt's lease)
    Column("attempts", SmallInteger, nullable=False, server_default=text("0")),
    Column("give_up_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_attempt_at", BigInteger),
    Column("status_code", SmallInteger),
    Column("latency_ms", Integer),
    Column("error", Text),
    Column("done_at", BigInteger),
    Index(
        "ix_deliveries_due",
        "due_at",
        sqlite_where=text("due_at IS NOT NULL"),
        postgresql_where=text("due_at IS NOT NULL"),
    ),
    Index(
        "ix_deliveries_open",
        "webhook_id",
        "order_key",
        sqlite_where=text("state IN ('waiting', 'ready')"),
        postgresql_where=text("state IN ('waiting', 'ready')"),
    ),
    Index("ix_deliveries_webhook", "webhook_id", "id"),
    Index("ix_deliveries_done", "done_at"),
)

# Failed attempts of a delivery (the last attempt's result is on the delivery itself).
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("delivery_id", BigInteger, nullable=False, index=True),
    Column("attempt", SmallInteger, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("status_code", SmallInteger),
    Column("latency_ms", Integer),
    Column("error", Text),
)

# Android phones running the SMSGate app. ``id`` is what the app and integrators see.
devices = Table(
    "devices",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(128), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 of the token
    Column("push_token", Text),
    Column("sims", Text, nullable=False, server_default="[]"),  # JSON list of SIM cards
    Column("app_version", String(32)),
    # Signs the webhooks this phone posts (handed out in its settings).
    Column("signing_key", String(64), nullable=False),
    # Per-device overrides of the account's phone settings (JSON), e.g. its own throttle.
    Column("settings", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("online", Boolean, nullable=False, server_default=text("true")),
    Column("deleted_at", BigInteger),
)

# Per-account SMSGate credentials: the private token phones register with, the login and
# password of the integrator API, its phone settings and the key its JWTs are signed with.
device_accounts = Table(
    "device_accounts",
    metadata,
    Column("account_id", BigInteger, ForeignKey("accounts.id"), primary_key=True),
    Column("private_token", String(64), nullable=False, unique=True),  # shown by the CLI
    Column("login", String(16), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("jwt_secret", String(64), nullable=False),
    Column("settings", Text),  # JSON DeviceSettings (None: defaults)
    Column("created_at", BigInteger, nullable=False),
)

# One-time codes that register another phone to an account (``GET /user/code``).
device_codes = Table(
    "device_codes",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("account_id", BigInteger, nullable=False),
    Column("valid_until", BigInteger, nullable=False),
)

# Phones' queues: one row per recipient handed to a device. ``id`` is the message id the app
# sees and reports on. Pending rows are waiting to be pulled; pulled rows are Processed.
device_messages = Table(
    "device_messages",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("recipient_id", BigInteger, nullable=False, index=True),
    Column("device_id", String(32), nullable=False),
    Column("sim", SmallInteger),
    Column("state", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("taken_at", BigInteger),
    Column("valid_until", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index(
        "ix_device_messages_open",
        "device_id",
        "id",
        sqlite_where=text("state IN ('Pending', 'Processed', 'Cancelling')"),
        postgresql_where=text("state IN ('Pending', 'Processed', 'Cancelling')"),
    ),
)

# Webhooks registered through the SMSGate integrator API; phones post to them directly.
device_webhooks = Table(
    "device_webhooks",
    metadata,
    Column("account_id", BigInteger, ForeignKey("accounts.id"), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("url", Text, nullable=False),
    Column("event", String(32), nullable=False),
    Column("device_id", String(32)),
    Column("created_at", BigInteger, nullable=False),
)

# Revoked integrator JWTs, kept until they would have expired anyway.
revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("jti", String(32), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

# Short links that replace URLs in tracked messages (seven.io's performance_tracking).
tracked_links = Table(
    "tracked_links",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("message_id", BigInteger, nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("label", String(100)),
    Column("clicks", Integer, nullable=False, server_default=text("0")),
    Column("created_at", BigInteger, nullable=False),
    Column("last_click_at", BigInteger),
)

# Files sent as download links in a message's text (seven.io's `files`).
attachments = Table(
    "attachments",
    metadata,
    Column("code", String(24), primary_key=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("password_hash", String(128)),  # argon2; NULL: no password
    Column("valid_until", BigInteger, nullable=False),
    Column("downloads", Integer, nullable=False, server_default=text("0")),
    Column("created_at", BigInteger, nullable=False),
)
