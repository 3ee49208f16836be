"""Webhook payloads in the providers' formats.

A subscription (or a message's callback URL) may ask for a provider's format instead of
smsbridge's own: then each event is rendered by that provider's ``webhook.render`` when it is
queued, stored as JSON, and encoded for the wire by the subscription's method when it is sent
(seven.io lets a hook choose GET, form POST or JSON). Events a provider has no payload for are
not sent to its subscriptions.
"""

from __future__ import annotations

import importlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

from smsbridge.core.errors import ValidationFailed
from smsbridge.services.signing import sign as seven_signature

NATIVE = "smsbridge"
# Format -> request methods it allows (the first is the default).
METHODS: dict[str, tuple[str, ...]] = {
    NATIVE: ("POST",),
    "seven": ("POST", "JSON", "GET"),
    "smsgateway24": ("POST", "JSON"),
    "messaggisms": ("JSON", "POST"),
    "smstools": ("JSON", "POST"),
}
Renderer = Callable[[str, dict[str, Any]], dict[str, Any] | None]


def check(format_: str | None, method: str | None) -> tuple[str, str | None]:
    """The format and method a subscription asks for, checked; (NATIVE, None) by default."""
    name = (format_ or NATIVE).strip().lower()
    if name not in METHODS:
        raise ValidationFailed(
            f"Unknown webhook format {format_!r}; choose one of {', '.join(METHODS)}.",
            code="invalid_format",
        )
    if method is None:
        return name, None
    upper = method.strip().upper()
    if upper not in METHODS[name]:
        raise ValidationFailed(
            f"The {name} format is sent with {' or '.join(METHODS[name])}, not {method!r}.",
            code="invalid_method",
        )
    return name, upper


def _renderer(format_: str) -> Renderer:
    module = importlib.import_module(f"smsbridge.compat.{format_}.webhook")
    render: Renderer = module.render
    return render


def render(format_: str, event_type: str, data: dict[str, Any]) -> str | None:
    """The provider's payload for one event as JSON text; None when it has none."""
    payload = _renderer(format_)(event_type, data)
    return None if payload is None else orjson.dumps(payload).decode()


@dataclass(frozen=True, slots=True)
class Wire:
    """How one stored payload goes out."""

    method: str  # the HTTP method
    query: str  # appended to the URL (GET hooks)
    body: bytes
    content_type: str | None


def wire(format_: str | None, method: str | None, payload: str) -> Wire:
    """A stored payload encoded as ``method`` wants it: JSON, a form, or a query string."""
    wanted = method or METHODS.get(format_ or NATIVE, ("POST",))[0]
    if format_ in (None, NATIVE) or wanted == "JSON":
        return Wire("POST", "", payload.encode(), "application/json")
    form = urlencode(_flatten(orjson.loads(payload)))
    if wanted == "GET":
        return Wire("GET", form, b"", None)
    return Wire("POST", "", form.encode(), "application/x-www-form-urlencoded")


def signature(
    format_: str | None, secret: str, method: str, url: str, body: bytes, timestamp: int
) -> list[tuple[str, str]]:
    """Headers of the provider's own signing scheme, besides smsbridge's (seven.io signs
    hooks as it signs requests: X-Timestamp, X-Nonce, X-Signature)."""
    if format_ != "seven":
        return []
    nonce = secrets.token_hex(16)
    value = seven_signature(secret, str(timestamp), nonce, method, url, body)
    return [("X-Timestamp", str(timestamp)), ("X-Nonce", nonce), ("X-Signature", value)]


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A JSON object as PHP-style form fields: ``data[msg_id]=...``."""
    items: list[tuple[Any, Any]]
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = [(str(i), v) for i, v in enumerate(value)]
    else:
        if value is None:
            return [(prefix, "")]
        if isinstance(value, bool):
            return [(prefix, "1" if value else "0")]
        return [(prefix, str(value))]
    out: list[tuple[str, str]] = []
    for key, item in items:
        out.extend(_flatten(item, f"{prefix}[{key}]" if prefix else str(key)))
    return out
