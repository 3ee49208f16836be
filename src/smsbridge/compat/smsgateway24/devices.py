"""SmsGateway24's numeric device ids for smsbridge's phones and channels.

SmsGateway24 addresses a device by an integer. smsbridge's phones (the ``android`` channel) have
string ids, and its other channels (the simulator, ...) are no devices at all, so this API
shows both as devices with stable numbers derived from what they are:

* a phone: ``1000 + crc32(phone id) mod (2**31 - 1000)`` (1000 .. 2147483646);
* another channel, a "virtual device": ``1 + crc32("channel:" + name) mod 999`` (1 .. 999),
  e.g. the simulator is always device ``VIRTUAL_IDS["simulator"]``.

The numbers never change for a phone or a channel, need no storage, and cannot collide between
phones and channels. A phone's string id is accepted as ``device_id`` too.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from smsbridge.connectors.registry import CHANNELS
from smsbridge.core.errors import ValidationFailed

PHONE_CHANNEL = "android"
_PHONE_BASE = 1000
_PHONE_SPAN = 2**31 - 1 - _PHONE_BASE


def phone_number_id(device_id: str) -> int:
    return _PHONE_BASE + zlib.crc32(device_id.encode()) % _PHONE_SPAN


def channel_number_id(channel: str) -> int:
    return 1 + zlib.crc32(f"channel:{channel}".encode()) % 999


VIRTUAL_CHANNELS = tuple(c for c in CHANNELS if c != PHONE_CHANNEL)
VIRTUAL_IDS = {c: channel_number_id(c) for c in VIRTUAL_CHANNELS}


@dataclass(frozen=True, slots=True)
class Device:
    """A device as this API shows it: a phone (``phone`` set) or a channel."""

    number: int
    channel: str
    phone: dict[str, Any] | None = None

    @property
    def phone_id(self) -> str | None:
        return self.phone["id"] if self.phone else None


def all_devices(phones: list[dict[str, Any]]) -> list[Device]:
    out = [Device(phone_number_id(p["id"]), PHONE_CHANNEL, p) for p in phones]
    out += [Device(VIRTUAL_IDS[c], c) for c in VIRTUAL_CHANNELS]
    return out


def find(phones: list[dict[str, Any]], ref: str) -> Device:
    """The device ``ref`` (a number from this API, or a phone's own id) names."""
    ref = ref.strip()
    for device in all_devices(phones):
        if str(device.number) == ref or device.phone_id == ref:
            return device
    raise ValidationFailed(
        f"Device {ref} not found in this account; list your devices with getalldevices.",
        code="device_not_found",
    )


def number_of(channel: str | None, phone: str | None) -> int | None:
    """The number of the device a message went through (or goes to)."""
    if phone is not None:
        return phone_number_id(phone)
    if channel is None or channel == PHONE_CHANNEL:
        return None
    return channel_number_id(channel.split(":", 1)[0])
