"""Smstools' smsgatewayapi.com API:
software written for it works by pointing its base URL at ``/smsgatewayapi``.
"""

from smsbridge.compat.smstools.routes import PREFIX, router

__all__ = ["PREFIX", "router"]
