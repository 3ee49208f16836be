"""`smsbridge devices ...` and `serve --ssl-*`, run as real processes, with a fake phone."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from smsbridge.testing.fake_device import FakeDevice
from tests.conftest import free_port
from tests.test_cli import smsbridge


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"SMSBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "COLUMNS": "160"}


@pytest.mark.parametrize(
    "command", [["devices"], *(["devices", c] for c in ("token", "list", "show", "remove",
                                                          "password"))],
)  # fmt: skip
def test_devices_commands_explain_themselves(command: list[str], env: dict[str, str]) -> None:
    result = smsbridge(*command, "--help", env=env)
    assert "Usage" in result.stdout and len(result.stdout.splitlines()) > 3


def _serve(env: dict[str, str], port: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "smsbridge", "serve", "--port", str(port), *extra],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _wait_up(url: str, verify: bool = True) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url, verify=verify, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not come up")
        time.sleep(0.1)


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_token_registers_a_phone_that_then_shows_in_list_show_and_remove(
    env: dict[str, str],
) -> None:
    smsbridge("migrate", env=env)
    smsbridge("accounts", "create", "shop", env=env)
    port = free_port()
    env = {**env, "SMSBRIDGE_PORT": str(port)}
    token_out = smsbridge("devices", "token", "--account", "shop", env=env).stdout.splitlines()
    token = token_out[0]
    assert token and " " not in token  # the token alone on line 1
    assert token_out[1] == f"API URL: http://127.0.0.1:{port}/api/mobile/v1"
    again = smsbridge("devices", "token", "--account", "shop", env=env).stdout.splitlines()[0]
    assert again == token
    server = _serve(env, port)
    try:
        _wait_up(f"http://127.0.0.1:{port}/health")

        async def register() -> str:
            async with FakeDevice(product="pixel") as phone:
                done = await phone.register(token_out[1].removeprefix("API URL: "), token)
                assert done.password  # the first phone shows the integrator password
                return done.id

        device_id = asyncio.run(register())
    finally:
        _stop(server)
    listed = smsbridge("devices", "list", "--account", "shop", env=env).stdout
    assert device_id in listed and "Google/pixel" in listed
    shown = smsbridge("devices", "show", device_id, "--account", "shop", env=env).stdout
    assert f'"id": "{device_id}"' in shown
    smsbridge("devices", "remove", device_id, "--account", "shop", env=env)
    assert device_id not in smsbridge("devices", "list", "--account", "shop", env=env).stdout
    missing = smsbridge("devices", "remove", device_id, "--account", "shop", env=env, check=False)
    assert missing.returncode != 0 and "device_not_found" in missing.stderr + missing.stdout
    rotated = smsbridge("devices", "token", "--rotate", "--account", "shop", env=env)
    assert rotated.stdout.splitlines()[0] != token
    password = smsbridge("devices", "password", "--account", "shop", env=env).stdout.strip()
    assert len(password) == 14


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_serve_over_https(env: dict[str, str], tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    port = free_port()
    server = _serve(env, port, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    try:
        _wait_up(f"https://127.0.0.1:{port}/api/3rdparty/v1/health", verify=False)
        trusted = ssl.create_default_context(cafile=str(cert))
        r = httpx.get(f"https://127.0.0.1:{port}/health/live", verify=trusted)
        assert r.status_code == 200 and r.json()["status"] == "pass"
    finally:
        _stop(server)
    half = smsbridge("serve", "--ssl-certfile", str(cert), env=env, check=False)
    assert half.returncode == 2 and "both" in half.stderr
