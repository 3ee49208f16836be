"""Wakes the event streams of phones connected to this process.

Each open ``/events`` stream subscribes with its device id and gets the events meant for that
phone. Work queued by another process is found by the streams' own polling of the database,
so a notification lost here only costs one poll interval.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

MESSAGE_ENQUEUED = "MessageEnqueued"
MESSAGE_CANCELLED = "MessageCancelled"
SETTINGS_UPDATED = "SettingsUpdated"
WEBHOOKS_UPDATED = "WebhooksUpdated"
EXPORT_REQUESTED = "MessagesExportRequested"


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    type: str
    data: Any = None  # JSON-able; None is sent as ``null``
    queue_id: int = 0  # MessageEnqueued: the newest queue row it announces


class DeviceHub:
    def __init__(self) -> None:
        self._streams: dict[str, set[asyncio.Queue[DeviceEvent]]] = {}

    def subscribe(self, device_id: str) -> asyncio.Queue[DeviceEvent]:
        queue: asyncio.Queue[DeviceEvent] = asyncio.Queue(maxsize=1000)
        self._streams.setdefault(device_id, set()).add(queue)
        return queue

    def unsubscribe(self, device_id: str, queue: asyncio.Queue[DeviceEvent]) -> None:
        streams = self._streams.get(device_id)
        if streams is not None:
            streams.discard(queue)
            if not streams:
                del self._streams[device_id]

    def connected(self, device_id: str) -> bool:
        return device_id in self._streams

    def publish(self, device_id: str, event: DeviceEvent) -> None:
        for queue in self._streams.get(device_id, ()):
            if queue.full():  # a stream that stopped reading: it re-syncs by polling
                continue
            queue.put_nowait(event)

    def publish_all(self, device_ids: list[str], event: DeviceEvent) -> None:
        for device_id in device_ids:
            self.publish(device_id, event)
