"""seven.io (formerly sms77) HTTP API: software written for seven.io works by pointing its
base URL at ``/seven/api``."""

from smsbridge.compat.seven import account, contacts, hooks, lookup, sms
from smsbridge.compat.seven.routes import PREFIX, router

__all__ = ["PREFIX", "account", "contacts", "hooks", "lookup", "router", "sms"]
