"""The `smsbridge` command line, run as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = [
    [], ["serve"], ["worker"], ["migrate"], ["send"], ["keys"], ["keys", "create"],
    ["keys", "list"], ["keys", "revoke"], ["accounts"], ["accounts", "create"],
    ["accounts", "list"], ["accounts", "show"], ["accounts", "suspend"], ["accounts", "resume"],
    ["accounts", "update"], ["accounts", "credit"], ["accounts", "prices"], ["accounts", "limits"],
]  # fmt: skip


def smsbridge(
    *args: str, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smsbridge", *args],
        env={**os.environ, **env}, capture_output=True, text=True, check=check, timeout=120,
    )  # fmt: skip


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"SMSBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "COLUMNS": "120"}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_every_command_explains_itself(command: list[str], env: dict[str, str]) -> None:
    result = smsbridge(*command, "--help", env=env)
    assert "Usage" in result.stdout
    assert len(result.stdout.splitlines()) > 3


def test_keys_create_list_revoke(env: dict[str, str]) -> None:
    first = smsbridge("keys", "create", "--name", "shop", env=env).stdout
    assert len(first.splitlines()) == 1 and first.startswith("sb_")
    key = first.strip()
    second = smsbridge("keys", "create", env=env).stdout.strip()
    listing = smsbridge("keys", "list", env=env).stdout
    rows = [line.split() for line in listing.splitlines()[1:] if line.strip()]
    assert [r[0] for r in rows] == ["1", "2"]
    assert rows[0][1] == "shop" and rows[0][-1] == "active"
    assert key not in listing and second not in listing
    smsbridge("keys", "revoke", "1", env=env)
    listing = smsbridge("keys", "list", env=env).stdout
    assert "revoked" in listing.splitlines()[1]
    again = smsbridge("keys", "revoke", "1", env=env, check=False)
    assert again.returncode == 1 and "key_not_found" in again.stderr


def test_migrate_creates_the_database(env: dict[str, str], tmp_path: Path) -> None:
    result = smsbridge("migrate", env=env)
    assert "up to date" in result.stderr
    assert (tmp_path / "cli.db").exists()


def test_send_queues_and_reports_bad_numbers(env: dict[str, str]) -> None:
    result = smsbridge("send", "+4917612345678", "+49171999999999", "--text", "hi", env=env)
    assert "gsm7, 1 part" in result.stdout
    assert "+4917612345678  queued" in result.stdout
    assert "rejected" in result.stdout and "not a valid phone number" in result.stdout
    bad = smsbridge("send", "12", "--text", "hi", env=env, check=False)
    assert bad.returncode == 1 and "invalid_number" in bad.stderr


def test_toml_config_and_env_precedence(tmp_path: Path) -> None:
    config = tmp_path / "smsbridge.toml"
    db = tmp_path / "from-toml.db"
    config.write_text(f'database_url = "sqlite:///{db}"\ndefault_region = "de"\n')
    result = smsbridge("--config", str(config), "send", "0176 12345678", "--text", "x", env={})
    assert "+4917612345678  queued" in result.stdout
    assert db.exists()
    env_db = tmp_path / "from-env.db"
    smsbridge("--config", str(config), "migrate",
              env={"SMSBRIDGE_DATABASE_URL": f"sqlite:///{env_db}"})  # fmt: skip
    assert env_db.exists()


def test_bad_configuration_is_explained(tmp_path: Path) -> None:
    result = smsbridge("migrate", env={"SMSBRIDGE_PORT": "nope"}, check=False)
    assert result.returncode == 2 and "configuration error" in result.stderr
    missing = smsbridge("--config", str(tmp_path / "none.toml"), "migrate", env={}, check=False)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    prod = smsbridge("migrate", env={"SMSBRIDGE_ENVIRONMENT": "production"}, check=False)
    assert prod.returncode == 2 and "SMSBRIDGE_DATABASE_URL must be set" in prod.stderr


def test_accounts_and_key_options(env: dict[str, str]) -> None:
    created = subprocess.run(
        [sys.executable, "-m", "smsbridge", "accounts", "create", "acme", "--email",
         "ops@acme.example", "--password-stdin", "--region", "at", "--timezone", "Europe/Vienna"],
        input="correct horse battery\n", env={**os.environ, **env}, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    assert "account acme created" in created.stdout
    listing = smsbridge("accounts", "list", env=env).stdout
    assert "acme" in listing and "ops@acme.example" in listing and "AT" in listing
    shown = smsbridge("accounts", "show", "acme", env=env).stdout
    assert "Europe/Vienna" in shown and "active" in shown
    dup = smsbridge("accounts", "create", "acme", env=env, check=False)
    assert dup.returncode == 1 and "account_exists" in dup.stderr
    smsbridge("accounts", "suspend", "acme", env=env)
    assert "suspended" in smsbridge("accounts", "show", "acme", env=env).stdout
    smsbridge("accounts", "resume", "acme", env=env)
    updated = smsbridge("accounts", "update", "acme", "--region", "de", "--from", "Acme",
                        "--languages", "turkish", env=env).stdout  # fmt: skip
    assert "region DE" in updated and "from Acme" in updated and "turkish" in updated
    sent = smsbridge("send", "--account", "acme", "0176 12345678", "--text", "hi", env=env).stdout
    assert "+4917612345678  queued" in sent
    prices = smsbridge("accounts", "prices", "acme", "--default", "0.09", "--prefix", "49=0.07",
                       env=env).stdout  # fmt: skip
    assert "default 0.09 per part" in prices and "+49  0.07" in prices
    credited = smsbridge("accounts", "credit", "acme", "5", "--note", "top-up", env=env).stdout
    assert "balance of acme: 4.0 credits" in credited  # the send above cost one credit
    limited = smsbridge("accounts", "limits", "acme", "--rate", "10", "--daily-cap", "3", env=env)
    assert "rate_limit 10" in limited.stderr
    out = smsbridge(
        "keys", "create", "--account", "acme", "--name", "signed", "--scopes",
        "messages:send,messages:read", "--expires", "30d", "--ip-allow", "10.0.0.0/8",
        "--require-signature", env=env,
    ).stdout.splitlines()  # fmt: skip
    assert len(out) == 2 and out[0].startswith("sb_") and len(out[1]) == 64
    listing = smsbridge("keys", "list", "--account", "acme", env=env).stdout
    assert "messages:send,messages:read" in listing and "signed" in listing
    bad = smsbridge("keys", "create", "--scopes", "everything", env=env, check=False)
    assert bad.returncode == 1 and "unknown_scope" in bad.stderr
    bad = smsbridge("keys", "create", "--expires", "soon", env=env, check=False)
    assert bad.returncode == 1 and "invalid_expiry" in bad.stderr
    bad = smsbridge("keys", "create", "--ip-allow", "300.1.1.1", env=env, check=False)
    assert bad.returncode == 1 and "invalid_ip_allow" in bad.stderr
    bad = smsbridge("keys", "create", "--account", "nobody", env=env, check=False)
    assert bad.returncode == 1 and "account_not_found" in bad.stderr
