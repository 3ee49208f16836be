"""The ``smsbridge`` command line."""

from __future__ import annotations

from smsbridge.cli import accounts, campaigns, contacts, devices, keys, server, watch
from smsbridge.cli.common import app

__all__ = ["accounts", "app", "campaigns", "contacts", "devices", "keys", "main", "server", "watch"]


def main() -> None:
    app()
