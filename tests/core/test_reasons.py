"""Tests for smsbridge.core.reasons: raw channel error codes mapped to stable reasons."""

from __future__ import annotations

import pytest

from smsbridge.core import reasons
from smsbridge.core.reasons import CHANNELS, GATEWAY, REASONS, reason_for


def test_no_error_has_no_reason() -> None:
    assert reason_for(None, None) is None
    assert reason_for("simulator", None) is None
    assert reason_for("smpp:carrier1", None) is None


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("opted_out", "rejected"),
        ("invalid_number", "invalid_number"),
        ("expired", "expired"),
        ("ttl_expired", "expired"),
        ("no_channel", "network_error"),
        ("channel_error", "network_error"),
        ("max_attempts", "network_error"),
        ("daily_cap_reached", "rejected"),
        ("reload_lock", "rejected"),
        ("insufficient_credit", "rejected"),
    ],
)
@pytest.mark.parametrize("channel", [None, "", "simulator", "smpp", "smpp:x", "android", "other"])
def test_gateway_codes_mean_the_same_on_every_channel(
    channel: str | None, code: str, reason: str
) -> None:
    assert reason_for(channel, code) == reason


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("simulated_undeliverable", "undeliverable"),
        ("simulated_expired", "expired"),
        ("simulated_failure", "rejected"),
    ],
)
def test_simulator_codes(code: str, reason: str) -> None:
    assert reason_for("simulator", code) == reason
    # another channel's code means nothing elsewhere
    assert reason_for("smpp", code) == "unknown"
    assert reason_for(None, code) == "unknown"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("001", "invalid_number"),
        ("005", "invalid_number"),
        ("009", "blocked"),
        ("011", "blocked"),
        ("013", "blocked"),
        ("027", "unreachable"),
        ("031", "unreachable"),
        ("032", "unreachable"),
        ("034", "network_error"),
        ("036", "unreachable"),
        ("0x0000000b", "invalid_number"),
        ("0x00000058", "network_error"),
        ("0x00000045", "rejected"),
    ],
)
def test_smpp_codes(code: str, reason: str) -> None:
    assert reason_for("smpp", code) == reason


@pytest.mark.parametrize("channel", ["smpp:carrier1", "smpp:a:b", "smpp:"])
def test_an_instance_suffix_uses_the_kind_of_channel(channel: str) -> None:
    assert reason_for(channel, "027") == "unreachable"
    assert reason_for(channel, "0x0000000b") == "invalid_number"
    assert reason_for(channel, "opted_out") == "rejected"
    assert reason_for(channel, "nope") == "unknown"


def test_smpp_hex_statuses_ignore_the_case_of_their_digits() -> None:
    assert reason_for("smpp", "0x0000000B") == "invalid_number"
    assert reason_for("smpp", "0x0000000b") == "invalid_number"


def test_codes_are_trimmed() -> None:
    assert reason_for("smpp", " 027 ") == "unreachable"
    assert reason_for("smpp", "027\n") == "unreachable"
    assert reason_for(None, " opted_out ") == "rejected"
    assert reason_for("smpp", "0x0000000b ") == "invalid_number"


def test_a_padded_hex_status_is_trimmed_before_its_case_is_folded() -> None:
    # " 0x0000000B" is trimmed to "0x0000000B" but, as it did not start with "0x" before
    # trimming, its hex digits are not lower-cased and the lookup misses.
    assert reason_for("smpp", " 0x0000000B") == "invalid_number"
    assert reason_for("smpp", "\t0x00000058 ") == "network_error"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("RESULT_ERROR_GENERIC_FAILURE", "undeliverable"),
        ("RESULT_ERROR_NO_SERVICE", "unreachable"),
        ("RESULT_ERROR_RADIO_OFF", "unreachable"),
        ("RESULT_ERROR_NULL_PDU", "rejected"),
        ("RESULT_ERROR_LIMIT_EXCEEDED", "blocked"),
        ("RESULT_ERROR_SHORT_CODE_NOT_ALLOWED", "blocked"),
        ("RESULT_ERROR_SHORT_CODE_NEVER_ALLOWED", "blocked"),
    ],
)
def test_android_codes(code: str, reason: str) -> None:
    assert reason_for("android", code) == reason
    assert reason_for("android:phone-1", code) == reason
    assert reason_for("simulator", code) == "unknown"


def test_unknown_codes_and_channels() -> None:
    assert reason_for("smpp", "999") == "unknown"
    assert reason_for("carrier-pigeon", "027") == "unknown"
    assert reason_for("carrier-pigeon", "opted_out") == "rejected"
    assert reason_for(None, "027") == "unknown"
    assert reason_for("", "simulated_expired") == "unknown"
    assert reason_for("simulator", "") == "unknown"


def test_a_channel_code_wins_over_a_gateway_code_of_the_same_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = {**CHANNELS, "custom": {"expired": reasons.BLOCKED}}
    monkeypatch.setattr(reasons, "CHANNELS", table)
    assert reason_for("custom", "expired") == "blocked"
    assert reason_for("simulator", "expired") == "expired"


def test_every_mapping_names_a_known_reason() -> None:
    assert len(set(REASONS)) == len(REASONS)
    assert set(GATEWAY.values()) <= set(REASONS)
    for table in CHANNELS.values():
        assert set(table.values()) <= set(REASONS)
        # hex statuses are kept lower-case so that the folding in reason_for finds them
        assert all(code == code.lower() for code in table if code.startswith("0x"))
    for code in GATEWAY:
        assert reason_for(None, code) in REASONS


def test_every_reason_is_a_plain_lower_case_word() -> None:
    for reason in REASONS:
        assert reason == reason.lower() and " " not in reason
