"""What an API key may do."""

from __future__ import annotations

from smsbridge.core.errors import ValidationFailed

MESSAGES_SEND = "messages:send"
MESSAGES_READ = "messages:read"
MESSAGES_CANCEL = "messages:cancel"
CONTACTS_READ = "contacts:read"
CONTACTS_WRITE = "contacts:write"
CAMPAIGNS_WRITE = "campaigns:write"
WEBHOOKS_WRITE = "webhooks:write"
DEVICES_MANAGE = "devices:manage"
ACCOUNT_READ = "account:read"
ADMIN = "admin"

ALL = (
    MESSAGES_SEND, MESSAGES_READ, MESSAGES_CANCEL, CONTACTS_READ, CONTACTS_WRITE,
    CAMPAIGNS_WRITE, WEBHOOKS_WRITE, DEVICES_MANAGE, ACCOUNT_READ, ADMIN,
)  # fmt: skip
# A key created without explicit scopes gets every scope but admin.
DEFAULT = tuple(s for s in ALL if s != ADMIN)


def parse_scopes(value: str | None) -> tuple[str, ...]:
    """``"messages:send, messages:read"`` -> validated scopes; empty or None -> the default."""
    if value is None or not value.strip():
        return DEFAULT
    scopes = tuple(dict.fromkeys(s.strip() for s in value.split(",") if s.strip()))
    unknown = [s for s in scopes if s not in ALL]
    if unknown:
        raise ValidationFailed(
            f"Unknown scope(s) {', '.join(unknown)}; choose from {', '.join(ALL)}.",
            code="unknown_scope",
        )
    return scopes
