"""Which connector sends a given recipient."""

from __future__ import annotations

from smsbridge.connectors.base import Connector


class Router:
    def __init__(self, connectors: dict[str, Connector], default: str) -> None:
        if default not in connectors:
            raise ValueError(f"default channel {default!r} is not configured")
        self.connectors = connectors
        self.default = default

    def route(self, to_number: str, channel: str | None = None) -> Connector:
        """The channel the message asked for if this process has it, else the default."""
        if channel is not None:
            connector = self.connectors.get(channel)
            if connector is not None:
                return connector
        return self.connectors[self.default]
