"""Doors that speak other gateways' APIs, translated into the core's services."""
