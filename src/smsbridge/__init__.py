"""smsbridge: a self-hosted SMS gateway."""

__version__ = "0.1.0"
