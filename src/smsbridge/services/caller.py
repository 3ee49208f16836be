"""Who is making a request, as established by a door's authentication."""

from __future__ import annotations

from dataclasses import dataclass

from smsbridge.core.encoding import Language


@dataclass(frozen=True, slots=True)
class Caller:
    account_id: int
    key_id: int | None
    default_region: str | None = None
    default_sender: str | None = None
    national_languages: tuple[Language, ...] = ()
