"""Who is making a request, as established by a door's authentication."""

from __future__ import annotations

from dataclasses import dataclass

from smsbridge.core.encoding import Language, parse_languages
from smsbridge.core.errors import Forbidden
from smsbridge.core.scopes import ALL
from smsbridge.store.accounts import AccountRecord


@dataclass(frozen=True, slots=True)
class Caller:
    account_id: int
    key_id: int | None
    default_region: str | None = None
    default_sender: str | None = None
    national_languages: tuple[Language, ...] = ()
    scopes: frozenset[str] = frozenset(ALL)
    rate_limit: int | None = None  # requests per second with this key; None: gateway default
    signing_secret: str | None = None  # set when the key requires signed requests

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(
                f"This API key lacks the `{scope}` scope. Create a key that has it, e.g. "
                f"`smsbridge keys create --scopes {scope}`.",
                code="missing_scope",
                details={"missing_scope": scope},
            )

    @classmethod
    def of_account(cls, account: AccountRecord) -> Caller:
        """The account itself as the caller: the CLI, campaigns, SMSGate logins."""
        return cls(
            account.id, None, account.default_region, account.default_sender,
            parse_languages(account.national_languages),
        )  # fmt: skip

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}" if self.key_id is not None else "cli"
