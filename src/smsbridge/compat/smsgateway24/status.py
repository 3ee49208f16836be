"""SmsGateway24's SMS status codes, from smsbridge's recipient states (plain tables).

1 New, 2 taken by the phone (sending), 3 queued for sending (on a phone's queue, not pulled
yet), 5 incoming, 6 sent by the phone, 7 delivered, 8 not delivered, 9 generic failure,
10 no service, 11 null PDU, 12 radio off, 100/101 not allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

NEW, TAKEN, QUEUED, INCOMING, SENT, DELIVERED = 1, 2, 3, 5, 6, 7
NOT_DELIVERED, GENERIC_FAILURE = 8, 9

# Recipient state -> code.
BY_STATE: dict[str, int] = {
    "draft": NEW,
    "queued": NEW,
    "scheduled": NEW,
    "sending": TAKEN,
    "sent": SENT,
    "delivered": DELIVERED,
    "failed": NOT_DELIVERED,
    "expired": NOT_DELIVERED,
    "cancelled": GENERIC_FAILURE,
    "rejected": GENERIC_FAILURE,
}
# A failed recipient's error code (a phone's send result) -> code; others keep BY_STATE's.
BY_ERROR: dict[str, int] = {
    "RESULT_ERROR_GENERIC_FAILURE": GENERIC_FAILURE,
    "RESULT_ERROR_NO_SERVICE": 10,
    "RESULT_ERROR_NULL_PDU": 11,
    "RESULT_ERROR_RADIO_OFF": 12,
    "RESULT_ERROR_SHORT_CODE_NOT_ALLOWED": 100,
    "RESULT_ERROR_SHORT_CODE_NEVER_ALLOWED": 101,
}
TITLES: dict[int, str] = {
    NEW: "New",
    TAKEN: "sending",
    QUEUED: "queued",
    INCOMING: "incoming",
    SENT: "sent",
    DELIVERED: "delivered",
    NOT_DELIVERED: "not delivered",
    GENERIC_FAILURE: "generic failure",
    10: "no service",
    11: "null PDU",
    12: "radio off",
    100: "not allowed",
    101: "not allowed",
}
CODES = tuple(TITLES)


def code_of(state: str, error_code: str | None = None, phone_state: str | None = None) -> int:
    """The code of a recipient in ``state``; ``phone_state`` is its phone-queue row's state."""
    if state == "sending" and phone_state == "Pending":
        return QUEUED
    if state == "failed" and error_code is not None:
        return BY_ERROR.get(error_code, NOT_DELIVERED)
    return BY_STATE.get(state, GENERIC_FAILURE)


def title(code: int) -> str:
    return TITLES.get(code, "unknown")


@dataclass(frozen=True, slots=True)
class StateQuery:
    """The recipients a code stands for, as conditions on state, error code and phone queue."""

    states: tuple[str, ...]
    error_codes: tuple[str, ...] | None = None
    other_error_codes: tuple[str, ...] | None = None
    phone_pending: bool | None = None


def query_of(code: int) -> tuple[StateQuery, ...]:
    """Conditions for outgoing SMS with ``code``, as disjoint alternatives (none: no outgoing
    SMS has it, e.g. INCOMING, which is the inbox)."""
    if code == QUEUED:
        return (StateQuery(("sending",), phone_pending=True),)
    if code == TAKEN:
        return (StateQuery(("sending",), phone_pending=False),)
    out: list[StateQuery] = []
    states = tuple(s for s, c in BY_STATE.items() if c == code and s != "failed")
    if states:
        out.append(StateQuery(states))
    errors = tuple(e for e, c in BY_ERROR.items() if c == code)
    if errors:
        out.append(StateQuery(("failed",), error_codes=errors))
    if BY_STATE["failed"] == code:  # failed for a reason the phone tables do not name
        out.append(StateQuery(("failed",), other_error_codes=tuple(BY_ERROR)))
    return tuple(out)
