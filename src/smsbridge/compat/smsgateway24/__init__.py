"""SmsGateway24's HTTP API:
software written for it works by pointing its base URL at ``/smsgateway24/getdata``.
"""

from smsbridge.compat.smsgateway24.routes import PREFIX, router

__all__ = ["PREFIX", "router"]
