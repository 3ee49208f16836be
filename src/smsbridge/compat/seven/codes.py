"""seven.io's numeric return codes, and which of the core's refusals each one means."""

from __future__ import annotations

OK = 100
PARTLY_FAILED = 101
INVALID_SENDER = 201  # the seed: max 11 alphanumeric or 16 numeric characters
INVALID_RECIPIENT = 202
MISSING_TO = 301
MISSING_TEXT = 305
INVALID_TYPE = 400
TEXT_TOO_LONG = 401
RELOAD_LOCK = 402
DAILY_LIMIT = 403
NO_CREDIT = 500
CARRIER_FAILED = 600
UNKNOWN_ERROR = 700
AUTH_FAILED = 900
INVALID_ID_OR_SIGNATURE = 901
NO_ACCESS = 902
IP_NOT_ALLOWED = 903

# Legacy contacts (action=write|del): 151 failed, 152 done.
CONTACT_FAILED = 151
CONTACT_OK = 152

# Core error code -> seven return code; anything else is 700.
BY_CORE_CODE: dict[str, int] = {
    "missing_recipient": MISSING_TO,
    "no_valid_recipient": INVALID_RECIPIENT,
    "invalid_number": INVALID_RECIPIENT,
    "invalid_country_code": INVALID_RECIPIENT,
    "region_required": INVALID_RECIPIENT,
    "opted_out": INVALID_RECIPIENT,
    "group_not_found": INVALID_RECIPIENT,
    "ambiguous_contact": INVALID_RECIPIENT,
    "missing_text": MISSING_TEXT,
    "text_empty": MISSING_TEXT,
    "text_too_long": TEXT_TOO_LONG,
    "not_gsm7": TEXT_TOO_LONG,
    "invalid_binary": MISSING_TEXT,
    "invalid_sender": INVALID_SENDER,
    "reload_lock": RELOAD_LOCK,
    "daily_cap_reached": DAILY_LIMIT,
    "insufficient_credit": NO_CREDIT,
    "missing_api_key": AUTH_FAILED,
    "invalid_api_key": AUTH_FAILED,
    "expired_api_key": AUTH_FAILED,
    "account_suspended": AUTH_FAILED,
    "invalid_signature": INVALID_ID_OR_SIGNATURE,
    "signature_required": INVALID_ID_OR_SIGNATURE,
    "signature_expired": INVALID_ID_OR_SIGNATURE,
    "nonce_reused": INVALID_ID_OR_SIGNATURE,
    "message_not_found": INVALID_ID_OR_SIGNATURE,
    "contact_not_found": INVALID_ID_OR_SIGNATURE,
    "missing_scope": NO_ACCESS,
    "rate_limited": NO_ACCESS,
    "ip_not_allowed": IP_NOT_ALLOWED,
    "invalid_type": INVALID_TYPE,
}

# Recipient state -> the status seven reports (/status, dlr hooks, journal).
STATUS: dict[str, str] = {
    "draft": "ACCEPTED",
    "queued": "ACCEPTED",
    "scheduled": "ACCEPTED",
    "sending": "ACCEPTED",
    "sent": "TRANSMITTED",
    "delivered": "DELIVERED",
    "failed": "NOTDELIVERED",
    "expired": "EXPIRED",
    "rejected": "REJECTED",
    "cancelled": "FAILED",
}


def for_error(core_code: str) -> int:
    return BY_CORE_CODE.get(core_code, UNKNOWN_ERROR)
