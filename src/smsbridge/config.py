"""Settings from ``SMSBRIDGE_*`` environment variables and an optional TOML file.

Precedence: explicit arguments > environment > TOML file (``--config`` or ``SMSBRIDGE_CONFIG``)
> defaults. Settings are built by the app factory and the CLI, never at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from smsbridge.core.encoding import Language
from smsbridge.core.keywords import DEFAULT_START, DEFAULT_STOP

DEFAULT_DATABASE_URL = "sqlite:///smsbridge.db"
DEFAULT_REPLIES = (
    "Thanks!",
    "OK, see you then.",
    "Who is this?",
    "STOP",
    "Vielen Dank für die Erinnerung! Ich komme am Donnerstag etwas später, gegen halb vier, "
    "weil ich vorher noch einen Termin beim Zahnarzt habe. Ist das in Ordnung für Sie?",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMSBRIDGE_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    log_level: str = "info"
    workers: int = Field(1, ge=1, le=64, description="HTTP worker processes for `serve`")
    dispatch: bool = Field(True, description="Run a dispatcher inside `serve`")
    migrate_on_start: bool = Field(True, description="Bring the schema up to date at start")

    default_region: str | None = Field(
        None, description="ISO 3166 country used for national numbers such as 0171...; e.g. DE"
    )
    default_sender: str | None = None
    national_languages: Annotated[list[Language], NoDecode] = Field(
        default_factory=list,
        description="National shift tables (TS 23.038) allowed for accounts without their own "
        "choice: turkish, spanish, portuguese (comma-separated)",
    )
    default_ttl_seconds: int = Field(172_800, ge=1, description="Validity of a message: 48 h")
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    max_batch_messages: int = Field(10_000, ge=1)
    max_recipients: int = Field(10_000, ge=1)
    max_parts: int = Field(10, ge=1, le=255)
    auth_cache_seconds: float = Field(30.0, ge=0)
    change_poll_ms: int = Field(
        100, ge=10, description="How often to look for key and price changes by other processes"
    )
    rate_limit_per_key: int = Field(
        0, ge=0, description="Requests per second per API key when the account sets none; 0: off"
    )

    # Dispatcher.
    channel: str = "simulator"
    claim_batch: int = Field(500, ge=1)
    max_inflight: int = Field(2000, ge=1)
    lease_seconds: float = Field(60.0, gt=0)
    poll_interval_ms: int = Field(100, ge=1)
    max_attempts: int = Field(6, ge=1)
    retry_base_seconds: float = Field(5.0, gt=0)
    retry_max_seconds: float = Field(600.0, gt=0)
    report_poll_after_seconds: float = Field(
        300.0, gt=0, description="Ask the channel for status when no report came after this"
    )

    # Simulator channel.
    simulator_latency_ms: float = Field(0.0, ge=0)
    simulator_fail_rate: float = Field(0.0, ge=0, le=1)
    simulator_dlr_delay_ms: float = Field(50.0, ge=0)
    simulator_seed: int | None = None
    simulator_journal: str | None = Field(
        None, description="Append every simulated send to this JSON-lines file (for tests)"
    )
    simulator_outcomes: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=lambda: {"delivered": 1.0},
        description="Mix of final reports, e.g. delivered=0.9,failed=0.05,expired=0.05",
    )

    simulator_reply_rate: float = Field(
        0.0, ge=0, le=1, description="Share of delivered messages the simulated handset answers"
    )
    simulator_reply_delay_ms: float = Field(1000.0, ge=0)
    simulator_reply_texts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_REPLIES),
        description="Replies the simulator picks from ('|'-separated in the environment)",
    )
    simulator_inbound_per_minute: float = Field(
        0.0, ge=0, description="Unsolicited SMS per minute from numbers messaged before"
    )

    # Inbound SMS.
    inbound_part_timeout_seconds: float = Field(
        3600.0, gt=0, description="Store a concatenated SMS with parts missing after this long"
    )
    keywords_stop: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_STOP),
        description="Replies that opt a number out (case and accents ignored)",
    )
    keywords_start: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_START), description="Replies that opt back in"
    )
    keywords_stop_reply: str | None = Field(
        None, description="Confirmation sent after an opt-out keyword (none when unset)"
    )
    keywords_start_reply: str | None = Field(
        None, description="Confirmation sent after an opt-in keyword (none when unset)"
    )

    # Webhooks and live events.
    webhooks_allow_private: bool = Field(
        False, description="Allow webhook URLs on loopback, private and link-local addresses"
    )
    webhooks_timeout_seconds: float = Field(10.0, gt=0, description="Per delivery attempt")
    webhooks_retry_base_seconds: float = Field(10.0, gt=0)
    webhooks_retry_max_seconds: float = Field(3600.0, gt=0)
    webhooks_give_up_hours: float = Field(
        72.0, gt=0, description="Dead-letter a delivery still failing after this long"
    )
    webhooks_max_inflight: int = Field(512, ge=1)
    webhooks_poll_interval_ms: int = Field(100, ge=1)
    webhooks_retention_days: float = Field(7.0, gt=0, description="Keep finished deliveries")
    events_poll_interval_ms: int = Field(200, ge=10, description="Live event stream polling")

    ssl_certfile: str | None = Field(None, description="Serve HTTPS: certificate chain (PEM)")
    ssl_keyfile: str | None = Field(None, description="Serve HTTPS: private key (PEM)")

    # Android phones (SMSGate app).
    public_url: str | None = Field(
        None,
        description="The URL phones and integrators reach this gateway at, e.g. "
        "https://sms.example.com (default: http://HOST:PORT)",
    )
    devices_routing: Literal["least_loaded", "round_robin", "sim_round_robin"] = Field(
        "least_loaded",
        description="How a message without device_id picks one of the account's online phones",
    )
    devices_offline_after_seconds: float = Field(
        600.0, gt=0, description="A phone not heard from for this long is offline"
    )
    devices_ping_interval_seconds: int = Field(
        60, ge=0, description="How often phones ping (handed out in their settings; 0: never)"
    )
    devices_sse_keepalive_seconds: float = Field(
        15.0, gt=0, description="Comment lines on idle event streams (proxies drop silent ones)"
    )
    devices_poll_interval_ms: int = Field(
        500, ge=10, description="How often event streams look for work queued by other processes"
    )
    devices_pull_limit: int = Field(100, ge=1, le=1000, description="Messages per pull")
    devices_token_ttl_seconds: int = Field(
        86_400, ge=60, description="Default lifetime of integrator JWTs (POST /auth/token)"
    )

    @field_validator("keywords_stop", "keywords_start", mode="before")
    @classmethod
    def _parse_words(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("simulator_reply_texts", mode="before")
    @classmethod
    def _parse_replies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item for item in value.split("|") if item.strip()]
        return value

    @field_validator("simulator_outcomes", mode="before")
    @classmethod
    def _parse_outcomes(cls, value: Any) -> Any:
        if isinstance(value, str):
            pairs = (item.split("=", 1) for item in value.split(",") if item.strip())
            return {k.strip(): float(v) for k, v in pairs}
        return value

    @field_validator("simulator_outcomes")
    @classmethod
    def _check_outcomes(cls, value: dict[str, float]) -> dict[str, float]:
        allowed = {"delivered", "failed", "expired"}
        unknown = set(value) - allowed
        if unknown:
            raise ValueError(f"unknown outcomes {sorted(unknown)}; use {sorted(allowed)}")
        if not value or sum(value.values()) <= 0:
            raise ValueError("give at least one outcome with a positive weight")
        return value

    @field_validator("national_languages", mode="before")
    @classmethod
    def _parse_languages(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip().lower() for item in value.split(",") if item.strip()]
        return value

    @field_validator("default_region")
    @classmethod
    def _upper_region(cls, value: str | None) -> str | None:
        return value.upper() if value else None

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production" and self.database_url == DEFAULT_DATABASE_URL:
            raise ValueError(
                "SMSBRIDGE_DATABASE_URL must be set explicitly in production "
                "(e.g. postgresql://user@host/smsbridge or sqlite:////var/lib/smsbridge/db.sqlite)"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("SMSBRIDGE_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build settings; ``config_file`` (a TOML file) overrides ``SMSBRIDGE_CONFIG``."""
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise FileNotFoundError(f"configuration file {path} does not exist")
        os.environ["SMSBRIDGE_CONFIG"] = str(path)
    return Settings(**overrides)
