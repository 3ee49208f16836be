"""Settings from the environment and TOML files."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from smsbridge.config import Settings, load_settings
from smsbridge.core.encoding import Language
from smsbridge.store.db import async_url


def test_defaults_work_out_of_the_box(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMSBRIDGE_CONFIG", raising=False)
    settings = Settings()
    assert settings.database_url == "sqlite:///smsbridge.db"
    assert (settings.host, settings.port, settings.channel) == ("127.0.0.1", 8080, "simulator")
    assert settings.simulator_outcomes == {"delivered": 1.0}


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMSBRIDGE_DEFAULT_REGION", "at")
    monkeypatch.setenv("SMSBRIDGE_SIMULATOR_FAIL_RATE", "0.25")
    monkeypatch.setenv("SMSBRIDGE_SIMULATOR_OUTCOMES", "delivered=0.9,failed=0.1")
    monkeypatch.setenv("SMSBRIDGE_NATIONAL_LANGUAGES", "turkish, spanish")
    settings = Settings()
    assert settings.default_region == "AT"
    assert settings.simulator_fail_rate == 0.25
    assert settings.simulator_outcomes == {"delivered": 0.9, "failed": 0.1}
    assert settings.national_languages == [Language.TURKISH, Language.SPANISH]


def test_toml_file_below_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "smsbridge.toml"
    config.write_text('port = 9000\nhost = "0.0.0.0"\nsimulator_latency_ms = 5\n')
    monkeypatch.setenv("SMSBRIDGE_PORT", "9100")
    settings = load_settings(config)
    assert settings.port == 9100  # the environment wins
    assert settings.host == "0.0.0.0"
    assert settings.simulator_latency_ms == 5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SMSBRIDGE_SIMULATOR_FAIL_RATE", "2"),
        ("SMSBRIDGE_SIMULATOR_OUTCOMES", "lost=1"),
        ("SMSBRIDGE_PORT", "0"),
        ("SMSBRIDGE_NATIONAL_LANGUAGES", "klingon"),
    ],
)
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_production_refuses_the_implicit_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMSBRIDGE_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="SMSBRIDGE_DATABASE_URL"):
        Settings()
    monkeypatch.setenv("SMSBRIDGE_DATABASE_URL", "postgresql://u@db/smsbridge")
    assert Settings().environment == "production"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///smsbridge.db", "sqlite+aiosqlite:///smsbridge.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u:p@h:5433/db", "postgresql+asyncpg://u:p@h:5433/db"),
    ],
)
def test_database_urls(url: str, expected: str) -> None:
    assert async_url(url) == expected


def test_unsupported_database_url() -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        async_url("mysql://root@localhost/db")
