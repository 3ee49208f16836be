"""Which addresses outgoing webhooks may reach.

By default a webhook must resolve to public addresses only: a URL pointing at loopback, a
private network or link-local space (cloud metadata at 169.254.169.254) would let any API user
probe the gateway's own network. Deployments that deliver inside their network allow it
explicitly (``SMSBRIDGE_WEBHOOKS_ALLOW_PRIVATE=true``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from smsbridge.core.errors import ValidationFailed

MAX_URL_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str  # http | https
    host: str
    port: int
    path: str  # path and query, as sent in the request line


def parse_url(url: str) -> Target:
    """Check that ``url`` is an absolute http(s) URL a webhook can be sent to."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationFailed("Give the webhook URL, e.g. https://example.com/hooks/sms.",
                               code="invalid_url")  # fmt: skip
    if len(url) > MAX_URL_LENGTH:
        raise ValidationFailed(f"The URL is longer than {MAX_URL_LENGTH} characters.",
                               code="invalid_url")  # fmt: skip
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValidationFailed(f"The URL {url!r} is not valid: {exc}.", code="invalid_url") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            f"The URL {url!r} must start with http:// or https:// and name a host.",
            code="invalid_url",
        )
    if parts.username or parts.password:
        raise ValidationFailed(
            "Put credentials in custom headers, not in the URL.", code="invalid_url"
        )
    if any(ch in url for ch in "\r\n\t "):
        raise ValidationFailed("The URL must not contain blanks or line breaks.",
                               code="invalid_url")  # fmt: skip
    if port == 0:
        raise ValidationFailed(f"The URL {url!r} names port 0; give a real port or none.",
                               code="invalid_url")  # fmt: skip
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port if port is not None else default, path)


def is_public(address: str) -> bool:
    """Whether ``address`` (an IP literal) is reachable on the public internet."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED)
    )


_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT


def refuse_private_literal(target: Target) -> None:
    """At subscription time: refuse hosts that are plainly private (IP literals, localhost).
    Names are resolved again at every delivery."""
    host = target.host
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        raise private_address(host)
    try:
        public = is_public(host)
    except ValueError:
        return  # a name: checked when resolved
    if not public:
        raise private_address(host)


def private_address(host: str) -> ValidationFailed:
    return ValidationFailed(
        f"The webhook host {host} is a private, loopback or link-local address; webhooks go "
        "to public addresses unless the gateway is configured with "
        "SMSBRIDGE_WEBHOOKS_ALLOW_PRIVATE=true.",
        code="private_address",
    )
