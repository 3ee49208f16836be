"""SMSGate's DeviceSettings: the sections and keys phones understand, their checks, and how
account-wide and per-phone settings combine."""

from __future__ import annotations

from typing import Any

from smsbridge.core.errors import ValidationFailed

MAX_INT = 2**31 - 1  # the app reads these as Java ints

# DeviceSettings sections and the keys each may hold, with their types.
SETTINGS_SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "messages": {
        "send_interval_min": (int,), "send_interval_max": (int,), "limit_period": (str,),
        "limit_value": (int,), "sim_selection_mode": (str,), "processing_order": (str,),
        "log_lifetime_days": (int,), "work_hours_enabled": (bool,), "work_hours_start": (str,),
        "work_hours_end": (str,),
    },
    "webhooks": {"internet_required": (bool,), "retry_count": (int,), "signing_key": (str,)},
    "gateway": {"cloud_url": (str,), "private_token": (str,), "notification_channel": (str,)},
    "encryption": {"passphrase": (str,)},
    "ping": {"interval_seconds": (int,)},
    "logs": {"lifetime_days": (int,)},
    "receiver": {"content_provider_enabled": (bool,)},
}  # fmt: skip
CHOICES = {
    ("messages", "limit_period"): ("Disabled", "PerMinute", "Per30Minutes", "PerHour", "PerDay"),
    ("messages", "sim_selection_mode"): ("OSDefault", "RoundRobin", "Random"),
    ("messages", "processing_order"): ("LIFO", "FIFO"),
    ("gateway", "notification_channel"): ("AUTO", "SSE_ONLY"),
}
# What the server alone decides (the integrator API neither shows nor takes them).
SERVER_OWNED = {("webhooks", "signing_key"), ("gateway", "cloud_url"), ("gateway", "private_token")}


def check_settings(body: Any) -> dict[str, dict[str, Any]]:
    """A DeviceSettings object (some or all of its sections and keys), checked key by key;
    what only the server sets is dropped."""
    if not isinstance(body, dict):
        raise ValidationFailed(
            "Settings must be a JSON object of sections.", code="invalid_settings"
        )
    out: dict[str, dict[str, Any]] = {}
    for section, values in body.items():
        keys = SETTINGS_SCHEMA.get(section)
        if keys is None:
            raise ValidationFailed(
                f"Unknown settings section {section!r}; known: {', '.join(SETTINGS_SCHEMA)}.",
                code="invalid_settings",
            )
        if values is None:
            continue
        if not isinstance(values, dict):
            raise ValidationFailed(
                f"Section {section!r} must be an object.", code="invalid_settings"
            )
        checked: dict[str, Any] = {}
        for key, value in values.items():
            if key not in keys:
                raise ValidationFailed(
                    f"Unknown setting {section}.{key}; known: {', '.join(keys)}.",
                    code="invalid_settings",
                )
            if (section, key) in SERVER_OWNED:
                continue
            if value is not None:
                wanted = keys[key]
                wrong_bool = isinstance(value, bool) and bool not in wanted
                if wrong_bool or not isinstance(value, wanted):
                    raise ValidationFailed(
                        f"{section}.{key} must be a {wanted[0].__name__}.", code="invalid_settings"
                    )
                choices = CHOICES.get((section, key))
                if choices is not None and value not in choices:
                    raise ValidationFailed(
                        f"{section}.{key} must be one of {', '.join(choices)}.",
                        code="invalid_settings",
                    )
                if (
                    isinstance(value, int)
                    and not isinstance(value, bool)
                    and not (0 <= value <= MAX_INT)
                ):
                    raise ValidationFailed(f"{section}.{key} is 0 to {MAX_INT}.",
                                           code="invalid_settings")  # fmt: skip
            checked[key] = value
        out[section] = checked
    return out


def merge_settings(base: dict[str, Any], changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged = {section: dict(values) for section, values in base.items()}
    for section, values in changes.items():
        merged.setdefault(section, {}).update(values)
    return merged


def defaults(ping_interval_seconds: int | None) -> dict[str, Any]:
    """Settings an account starts with (the app's own defaults, event stream only)."""
    return {
        "messages": {
            "send_interval_min": None, "send_interval_max": None, "limit_period": "Disabled",
            "limit_value": None, "sim_selection_mode": "OSDefault", "processing_order": "LIFO",
            "log_lifetime_days": None, "work_hours_enabled": False, "work_hours_start": None,
            "work_hours_end": None,
        },
        "webhooks": {"internet_required": True, "retry_count": 15},
        "gateway": {"notification_channel": "SSE_ONLY"},
        "encryption": {"passphrase": None},
        "ping": {"interval_seconds": ping_interval_seconds or None},
        "logs": {"lifetime_days": None},
        "receiver": {"content_provider_enabled": None},
    }  # fmt: skip
