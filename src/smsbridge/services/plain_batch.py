"""Plain messages in bulk: one number, a text without placeholders, default options.

Most items of a bulk batch look like this, and preparing them one by one through
:meth:`SendService.prepare` costs more than writing them. Here what they share (sender,
validity, languages, region) is worked out once per batch, and each message costs a number
check, an encoding, a price and two ids. The result is exactly what ``prepare`` builds (tests
compare the two); any other request goes through ``prepare``.
"""

from __future__ import annotations

from collections.abc import Callable

from smsbridge.core.encoding import (
    Encoding,
    EncodingError,
    Language,
    default_alphabet_parts,
    segment,
)
from smsbridge.core.errors import SmsBridgeError, ValidationFailed
from smsbridge.core.message import Priority, Status
from smsbridge.core.numbers import InvalidNumber, normalize
from smsbridge.core.pricing import PriceList
from smsbridge.core.sender import validate_sender
from smsbridge.services.addressing import NUMBER_LIKE
from smsbridge.services.message_plan import (
    AcceptedMessage,
    AcceptedRecipient,
    SendRequest,
    concat_reference,
    missing_recipient,
    no_valid_recipient,
)
from smsbridge.store.billing import Charge
from smsbridge.store.messages import NewMessages

_QUEUED = Status.QUEUED.value
_GSM7 = Encoding.GSM7.value
_REJECTED = Status.REJECTED.value
_NORMAL = Priority.NORMAL


def is_plain(req: SendRequest) -> bool:
    """One number (or nothing: refused the usual way) and a fixed text, nothing else asked."""
    to = req.to
    if len(to) != 1 or type(to[0]) is not str or "," in to[0] or "{{" in req.text:
        return False
    return (
        req.encoding == "auto"
        and req.send_at is None
        and req.ttl is None
        and req.priority is _NORMAL
        and not (req.test or req.flash or req.no_reload or req.transactional or req.draft)
        and req.channel is None
        and req.device_id is None
        and req.sim is None
        and req.callback_url is None
        and req.callback_format is None
        and req.ext_id is None
        and req.device_options is None
        and req.udh is None
        and req.door_data is None
        and not req.verbatim_numbers
        and _number_like(to[0])
    )


def _number_like(raw: str) -> bool:
    """A number rather than a contact or group name (or nothing)."""
    if raw[:1] == "+" and raw[1:].isdecimal():  # E.164, most of all: no regex needed
        return True
    stripped = raw.strip()
    return not stripped or NUMBER_LIKE.match(stripped) is not None


class PlainMessages:
    """Prepares the plain messages of one account in one batch, all at the same moment."""

    def __init__(
        self,
        *,
        account_id: int,
        default_sender: str | None,
        languages: tuple[Language, ...],
        region: str | None,
        now: int,
        ttl_seconds: int,
        max_parts: int,
        prices: PriceList,
        next_id: Callable[[], int],
    ) -> None:
        self.account_id = account_id
        self.default_sender = default_sender
        self.languages = languages
        self.language_names = ",".join(languages)
        self.region = region
        self.now = now
        self.expires_at = now + ttl_seconds * 1_000_000
        self.max_parts = max_parts
        self.prices = prices
        self.next_id = next_id
        self._senders: dict[str, str | SmsBridgeError] = {}

    def _sender(self, raw: str | None) -> str | None:
        if raw is None:
            raw = self.default_sender
            if raw is None:
                return None
        checked = self._senders.get(raw)
        if checked is None:
            try:
                checked = validate_sender(raw)
            except SmsBridgeError as exc:
                checked = exc
            self._senders[raw] = checked
        if isinstance(checked, SmsBridgeError):
            raise checked
        return checked

    def prepare(self, req: SendRequest, rows: NewMessages) -> AcceptedMessage:
        """Check, price and add one plain message to ``rows``; raises SmsBridgeError."""
        raw_to = req.to[0]
        assert isinstance(raw_to, str)  # is_plain
        to = raw_to.strip()
        if not to:
            raise missing_recipient()
        text = req.text
        parts = default_alphabet_parts(text, self.max_parts)
        if parts is not None:
            encoding: str = _GSM7
            shifted = False
        else:
            try:
                seg = segment(text, languages=self.languages, max_parts=self.max_parts)
            except EncodingError as exc:
                raise ValidationFailed(exc.message, code=exc.code) from None
            parts = seg.part_count
            encoding = seg.encoding.value
            shifted = seg.locking_shift is not None or seg.single_shift is not None
        sender = self._sender(req.sender)
        message_id = self.next_id()
        try:
            number = normalize(to, self.region)
        except InvalidNumber as exc:
            rejected = AcceptedRecipient(self.next_id(), to, _REJECTED, exc.code, exc.message)
            raise no_valid_recipient([rejected]) from None
        price = self.prices.cost(number, parts, high=False)
        recipient = AcceptedRecipient(self.next_id(), number, _QUEUED, price=price)
        now = self.now
        expires_at = self.expires_at
        message = AcceptedMessage(
            message_id, text, sender, encoding, parts, False, 0, now, None, expires_at,
            req.foreign_id, req.label, False, recipients=[recipient], price=price,
        )  # fmt: skip
        # Orders: MESSAGE_COLUMNS and RECIPIENT_COLUMNS, as MessagePlan writes them.
        rows.messages.append(
            (message_id, self.account_id, text, sender, encoding,
             self.language_names if shifted else None, parts, concat_reference(), 0, False,
             False, req.foreign_id, req.label, 1, price, now, None, expires_at, False, False,
             None, None, None, None, None, None, None, None, None, None, None)
        )  # fmt: skip
        rows.recipients.append(
            (recipient.id, message_id, self.account_id, 0, number, price, _QUEUED, None, None,
             0, now, expires_at, now, now, None, None, None)
        )  # fmt: skip
        if price:
            rows.charges.append(Charge(self.account_id, message_id, price))
        return message
