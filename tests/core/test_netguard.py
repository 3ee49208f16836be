"""Tests for smsbridge.core.netguard: webhook URL parsing and which addresses count as public."""

from __future__ import annotations

import pytest

from smsbridge.core.errors import ValidationFailed
from smsbridge.core.netguard import (
    MAX_URL_LENGTH,
    Target,
    is_public,
    parse_url,
    private_address,
    refuse_private_literal,
)

# parse_url -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://example.com/hooks/sms", Target("https", "example.com", 443, "/hooks/sms")),
        ("http://example.com/hooks/sms", Target("http", "example.com", 80, "/hooks/sms")),
        ("https://example.com", Target("https", "example.com", 443, "/")),
        ("http://example.com", Target("http", "example.com", 80, "/")),
        ("http://example.com:8080/x", Target("http", "example.com", 8080, "/x")),
        ("https://example.com:443/x", Target("https", "example.com", 443, "/x")),
        ("https://example.com:80/x", Target("https", "example.com", 80, "/x")),
        (
            "https://example.com/a/b?x=1&y=%20z",
            Target("https", "example.com", 443, "/a/b?x=1&y=%20z"),
        ),
        ("https://example.com?x=1", Target("https", "example.com", 443, "/?x=1")),
        ("https://example.com/path#frag", Target("https", "example.com", 443, "/path")),
        ("HTTPS://Example.COM/Path", Target("https", "example.com", 443, "/Path")),
        ("http://127.0.0.1:9000/h", Target("http", "127.0.0.1", 9000, "/h")),
        ("http://[::1]:8080/h", Target("http", "::1", 8080, "/h")),
        ("https://[2001:db8::1]/h", Target("https", "2001:db8::1", 443, "/h")),
        (
            "http://sub.domain.example.org:65535/",
            Target("http", "sub.domain.example.org", 65535, "/"),
        ),
    ],
)
def test_parse_url(url: str, target: Target) -> None:
    assert parse_url(url) == target


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "example.com/hooks",
        "//example.com/hooks",
        "/hooks",
        "ftp://example.com/hooks",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "gopher://example.com/",
        "http://",
        "https:///path",
        "http://:8080/x",
        "http://user:pw@example.com/",
        "http://user@example.com/",
        "https://:secret@example.com/",
        "http://example.com/a b",
        "http://example.com/a\tb",
        "http://example.com/a\r\nX-Injected: 1",
        "http://example.com/\n",
        " http://example.com/",
        "http://example.com:99999/",
        "http://example.com:-1/",
        "http://example.com:port/",
        "http://[::1/",
        "https://" + "a" * MAX_URL_LENGTH + ".com/",
    ],
)
def test_parse_url_refuses(url: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_url(url)
    assert info.value.code == "invalid_url"
    assert info.value.status_code == 422


@pytest.mark.parametrize("value", [None, 42, b"http://example.com/"])
def test_parse_url_refuses_non_strings(value: object) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_url(value)  # type: ignore[arg-type]
    assert info.value.code == "invalid_url"


def test_parse_url_length_limit() -> None:
    base = "https://example.com/"
    exact = base + "a" * (MAX_URL_LENGTH - len(base))
    assert len(exact) == MAX_URL_LENGTH
    assert parse_url(exact).path == "/" + "a" * (MAX_URL_LENGTH - len(base))
    with pytest.raises(ValidationFailed):
        parse_url(exact + "a")


def test_parse_url_port_zero_is_refused_not_replaced_by_the_default() -> None:
    # "http://example.com:0/" names port 0, which nothing listens on; taking it for port 80
    # would deliver somewhere the subscriber did not ask for.
    with pytest.raises(ValidationFailed) as info:
        parse_url("http://example.com:0/hooks")
    assert info.value.code == "invalid_url"


def test_parse_url_messages_say_how_to_fix() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_url("http://user:pw@example.com/")
    assert "headers" in info.value.message
    with pytest.raises(ValidationFailed) as info:
        parse_url("ftp://example.com/")
    assert "http://" in info.value.message


# is_public -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "100.63.255.255",  # just below 100.64.0.0/10
        "100.128.0.0",  # just above it
        "172.15.255.255",
        "172.32.0.0",
        "192.167.255.255",
        "169.253.255.255",
        "2606:4700:4700::1111",
        "2a00:1450:4001:82b::200e",
        "::ffff:8.8.8.8",
    ],
)
def test_public_addresses(address: str) -> None:
    assert is_public(address) is True


@pytest.mark.parametrize(
    "address",
    [
        # IPv4
        "127.0.0.1",
        "127.255.255.254",
        "10.0.0.1",
        "10.255.255.255",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "192.168.255.255",
        "169.254.169.254",  # cloud metadata
        "169.254.0.1",
        "100.64.0.0",  # carrier-grade NAT, 100.64.0.0/10
        "100.64.0.1",
        "100.100.100.200",
        "100.127.255.255",
        "0.0.0.0",
        "0.1.2.3",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        # IPv6
        "::1",
        "::",
        "fc00::",
        "fc00::1",
        "fd12:3456:789a::1",
        "fe80::1",
        "fe80::1%1",
        "ff02::1",
        "::7f00:1",  # IPv4-compatible (deprecated) 127.0.0.1
        # IPv4-mapped IPv6
        "::ffff:127.0.0.1",
        "::ffff:7f00:1",
        "::ffff:10.0.0.1",
        "::ffff:192.168.1.1",
        "::ffff:169.254.169.254",
        "::ffff:100.64.0.1",
        "::ffff:0.0.0.0",
        "::ffff:224.0.0.1",
    ],
)
def test_private_addresses(address: str) -> None:
    assert is_public(address) is False


@pytest.mark.parametrize("value", ["example.com", "localhost", "", "256.0.0.1", "1.2.3", "::g"])
def test_is_public_wants_an_ip_literal(value: str) -> None:
    with pytest.raises(ValueError):
        is_public(value)


# refuse_private_literal ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/x",
        "http://LOCALHOST:8080/x",
        "http://localhost.localdomain/x",
        "http://api.localhost/x",
        "http://a.b.LocalHost/x",
        "http://127.0.0.1/x",
        "http://127.1.2.3:9000/x",
        "http://10.0.0.5/x",
        "http://172.20.1.1/x",
        "http://192.168.178.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.1.1/x",
        "http://0.0.0.0/x",
        "http://[::1]/x",
        "http://[::]/x",
        "http://[fc00::1]/x",
        "http://[fd00::abcd]/x",
        "http://[fe80::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://[::ffff:169.254.169.254]/x",
        "http://[::ffff:10.1.1.1]/x",
    ],
)
def test_refuse_private_literal_refuses(url: str) -> None:
    target = parse_url(url)
    with pytest.raises(ValidationFailed) as info:
        refuse_private_literal(target)
    assert info.value.code == "private_address"
    assert info.value.status_code == 422
    assert target.host in info.value.message
    assert "SMSBRIDGE_WEBHOOKS_ALLOW_PRIVATE=true" in info.value.message


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hooks",
        "https://hooks.example.org:8443/x",
        "http://8.8.8.8/x",
        "http://[2606:4700:4700::1111]/x",
        "http://[::ffff:8.8.8.8]/x",
        "https://notlocalhost.example/x",  # a name: resolved and checked at each delivery
        "https://localhost-api.example.com/x",
        "https://internal.corp/x",
    ],
)
def test_refuse_private_literal_lets_public_addresses_and_names_through(url: str) -> None:
    assert refuse_private_literal(parse_url(url)) is None


def test_private_address_error() -> None:
    error = private_address("10.0.0.1")
    assert isinstance(error, ValidationFailed)
    assert error.code == "private_address"
    assert "10.0.0.1" in error.message
