"""Why a message failed: the channel's raw error code mapped to a small, stable set of reasons.

Codes stay raw in the store (``error_code``); the reason is derived when a status is shown or
sent to a webhook, so a better mapping applies to old messages too. Each channel has a plain
table; codes of the gateway itself are shared by all channels.
"""

from __future__ import annotations

INVALID_NUMBER = "invalid_number"  # the number does not exist or cannot receive SMS
UNREACHABLE = "unreachable"  # the handset is off, out of coverage or its memory is full
BLOCKED = "blocked"  # barred by the operator, the recipient or a spam filter
REJECTED = "rejected"  # refused before sending (opt-out, invalid input, limits)
EXPIRED = "expired"  # the validity period ran out
NETWORK_ERROR = "network_error"  # the channel or carrier failed (retried before giving up)
UNDELIVERABLE = "undeliverable"  # the carrier gave up without saying why
UNKNOWN = "unknown"

REASONS = (
    INVALID_NUMBER, UNREACHABLE, BLOCKED, REJECTED, EXPIRED, NETWORK_ERROR, UNDELIVERABLE,
    UNKNOWN,
)  # fmt: skip

# Codes the gateway itself sets, whatever the channel.
GATEWAY: dict[str, str] = {
    "opted_out": REJECTED,
    "invalid_number": INVALID_NUMBER,
    "expired": EXPIRED,
    "ttl_expired": EXPIRED,
    "no_channel": NETWORK_ERROR,
    "channel_error": NETWORK_ERROR,
    "max_attempts": NETWORK_ERROR,
    "daily_cap_reached": REJECTED,
    "reload_lock": REJECTED,
    "insufficient_credit": REJECTED,
}

# Per channel: its own codes (delivery report errors and send refusals).
CHANNELS: dict[str, dict[str, str]] = {
    "simulator": {
        "simulated_undeliverable": UNDELIVERABLE,
        "simulated_expired": EXPIRED,
        "simulated_failure": REJECTED,
    },
    # SMPP: GSM MAP errors carried in receipts ("err:") and submit_sm command statuses.
    "smpp": {
        "001": INVALID_NUMBER,  # unknown subscriber
        "005": INVALID_NUMBER,  # unidentified subscriber
        "009": BLOCKED,  # illegal subscriber
        "011": BLOCKED,  # teleservice not provisioned
        "013": BLOCKED,  # call barred
        "027": UNREACHABLE,  # absent subscriber
        "031": UNREACHABLE,  # subscriber busy for MT SMS
        "032": UNREACHABLE,  # equipment failure
        "034": NETWORK_ERROR,  # system failure
        "036": UNREACHABLE,  # memory capacity exceeded
        "0x0000000b": INVALID_NUMBER,  # ESME_RINVDSTADR
        "0x00000058": NETWORK_ERROR,  # ESME_RTHROTTLED
        "0x00000045": REJECTED,  # ESME_RSUBMITFAIL
    },
    # The SMSGate Android app's failure reasons.
    "android": {
        "RESULT_ERROR_GENERIC_FAILURE": UNDELIVERABLE,
        "RESULT_ERROR_NO_SERVICE": UNREACHABLE,
        "RESULT_ERROR_RADIO_OFF": UNREACHABLE,
        "RESULT_ERROR_NULL_PDU": REJECTED,
        "RESULT_ERROR_LIMIT_EXCEEDED": BLOCKED,
        "RESULT_ERROR_SHORT_CODE_NOT_ALLOWED": BLOCKED,
        "RESULT_ERROR_SHORT_CODE_NEVER_ALLOWED": BLOCKED,
    },
}


def reason_for(channel: str | None, error_code: str | None) -> str | None:
    """The reason for ``error_code`` as reported by ``channel`` (None when there is no error).

    Channel names may carry an instance suffix (``smpp:carrier1``); the table of the channel's
    kind applies.
    """
    if error_code is None:
        return None
    code = error_code.strip()
    if code[:2].lower() == "0x":
        code = code.lower()
    if channel:
        table = CHANNELS.get(channel.split(":", 1)[0])
        if table is not None and code in table:
            return table[code]
    return GATEWAY.get(code, UNKNOWN)
