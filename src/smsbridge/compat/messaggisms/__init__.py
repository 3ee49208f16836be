"""messaggisms.com (openapi.it Gateway SMS v1):
software written for it works by pointing its base URL at ``/messaggisms``.
"""

from smsbridge.compat.messaggisms.routes import PREFIX, router

__all__ = ["PREFIX", "router"]
