"""Fakes and harnesses shipped with smsbridge: stand-ins that speak real protocols over real
sockets, for tests and local trials."""
