"""The ``smsbridge`` command line."""

from __future__ import annotations

from smsbridge.cli import accounts, keys, server
from smsbridge.cli.common import app

__all__ = ["accounts", "app", "keys", "main", "server"]


def main() -> None:
    app()
