"""Builds the configured connectors."""

from __future__ import annotations

from collections.abc import Callable

from smsbridge.config import Settings
from smsbridge.connectors.android import AndroidConnector
from smsbridge.connectors.base import Connector
from smsbridge.connectors.simulator import SimulatorConnector
from smsbridge.dispatch.device_hub import DeviceEvent
from smsbridge.store.db import Database

CHANNELS = ("simulator", "android")  # every channel a message may ask for by name


def build_connectors(
    settings: Settings, db: Database, notify: Callable[[str, DeviceEvent], None]
) -> dict[str, Connector]:
    simulator = SimulatorConnector(
        latency_ms=settings.simulator_latency_ms,
        fail_rate=settings.simulator_fail_rate,
        dlr_delay_ms=settings.simulator_dlr_delay_ms,
        outcomes=settings.simulator_outcomes,
        seed=settings.simulator_seed,
        journal=settings.simulator_journal,
        reply_rate=settings.simulator_reply_rate,
        reply_delay_ms=settings.simulator_reply_delay_ms,
        reply_texts=settings.simulator_reply_texts,
        inbound_per_minute=settings.simulator_inbound_per_minute,
    )
    android = AndroidConnector(db, strategy=settings.devices_routing, notify=notify)
    connectors: dict[str, Connector] = {simulator.name: simulator, android.name: android}
    if settings.channel not in connectors:
        raise ValueError(
            f"unknown channel {settings.channel!r}; available: {', '.join(sorted(connectors))}"
        )
    return connectors
