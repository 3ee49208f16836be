"""Checking one contact as given by a caller: phone, fields, groups, opt-out flag."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from smsbridge.core.errors import ValidationFailed
from smsbridge.core.numbers import normalize

FIELD_LIMITS = {"firstname": 100, "lastname": 100, "birthday": 10, "email": 254} | {
    f"extra{i}": 1000 for i in range(1, 11)
}
PHONE_KEYS = ("phone", "number", "mobile")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_GROUP_NAME = 100


def parse_contact(
    raw: Any, region: str | None, *, partial: bool = False
) -> tuple[str | None, dict[str, str | None], list[str | int] | None, bool | None]:
    """Check one contact object: (phone, field values, group references, unsubscribed)."""
    if not isinstance(raw, Mapping):
        raise ValidationFailed(
            'A contact is an object such as {"phone": "+4917612345678", "firstname": "Anna"}.',
            code="invalid_contact",
        )
    phone: str | None = None
    values: dict[str, str | None] = {}
    group_refs: list[str | int] | None = None
    unsubscribed: bool | None = None
    for key, value in raw.items():
        name = str(key).lower()
        if name in PHONE_KEYS:
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise ValidationFailed("`phone` must be a string.", code="invalid_number")
            phone = normalize(str(value), region)
        elif name in FIELD_LIMITS:
            values[name] = _field(name, value)
        elif name == "groups":
            group_refs = _group_refs(value)
        elif name == "unsubscribed":
            unsubscribed = _flag(value)
        elif name in {"id", "created_at", "updated_at"}:
            continue  # echoes of a contact read earlier
        else:
            raise ValidationFailed(
                f"Unknown contact field {key!r}; contacts have phone, firstname, lastname, "
                "birthday, email, extra1 ... extra10, groups and unsubscribed.",
                code="unknown_field",
                details={"field": str(key)},
            )
    if phone is None and not partial:
        raise ValidationFailed(
            "A contact needs a `phone` (E.164 such as +4917612345678, or national in the "
            "account's region).",
            code="missing_phone",
        )
    return phone, values, group_refs, unsubscribed


def _field(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationFailed(f"`{name}` must be a string.", code="invalid_field")
    text = str(value).strip()
    if not text:
        return None
    if len(text) > FIELD_LIMITS[name]:
        raise ValidationFailed(
            f"`{name}` is {len(text)} characters long; at most {FIELD_LIMITS[name]} are kept.",
            code="field_too_long",
            details={"field": name},
        )
    if name == "birthday":
        try:
            date.fromisoformat(text)
        except ValueError:
            raise ValidationFailed(
                f"birthday {text!r} is not a date: write it as yyyy-MM-dd (e.g. 1990-04-23).",
                code="invalid_birthday",
            ) from None
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValidationFailed(
                f"birthday {text!r}: write it as yyyy-MM-dd (e.g. 1990-04-23).",
                code="invalid_birthday",
            )
    if name == "email" and not EMAIL.match(text):
        raise ValidationFailed(f"{text!r} is not an email address.", code="invalid_email")
    return text


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}:
        return value.lower() in {"true", "1", "yes"}
    raise ValidationFailed("`unsubscribed` must be true or false.", code="invalid_field")


def _group_refs(value: Any) -> list[str | int]:
    items = value if isinstance(value, list) else [value]
    refs: list[str | int] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise ValidationFailed(
                '`groups` lists group names or ids, e.g. ["customers", 12].',
                code="invalid_group",
            )
        if isinstance(item, str):
            item = item.strip()
            if not item:
                continue
            if len(item) > MAX_GROUP_NAME:
                raise ValidationFailed(
                    f"Group names have at most {MAX_GROUP_NAME} characters.",
                    code="invalid_group",
                )
        refs.append(item)
    return refs
