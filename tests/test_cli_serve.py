"""`smsbridge serve --workers N` as a real process tree, over HTTPS, on both databases."""

from __future__ import annotations

import ssl
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.conftest import free_port
from tests.test_cli import smsbridge
from tests.test_cli_devices import _serve, _stop, _wait_up, self_signed_certificate


def test_two_workers_share_keep_alive_clients_evenly_and_deliver(
    database_url: str, tmp_path: Path
) -> None:
    env = {"SMSBRIDGE_DATABASE_URL": database_url}
    cert, key = self_signed_certificate(tmp_path)
    api_key = smsbridge("keys", "create", env=env).stdout.strip()
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    server = _serve(env, port, "--workers", "2", "--ssl-certfile", str(cert),
                    "--ssl-keyfile", str(key))  # fmt: skip
    trusted = ssl.create_default_context(cafile=str(cert))
    clients = [
        httpx.Client(base_url=base, verify=trusted, headers={"X-Api-Key": api_key})
        for _ in range(4)
    ]
    try:
        _wait_up(f"{base}/health", verify=False)
        nodes = [client.get("/health").json()["node"] for client in clients]
        assert sorted(Counter(nodes).values()) == [2, 2]
        ids = []
        for n, client in enumerate(clients):
            r = client.post("/api/v1/messages", json={"to": f"+4917612345{n:03d}", "text": "hi"})
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        deadline = time.monotonic() + 30
        while True:
            states = {clients[0].get(f"/api/v1/messages/{i}").json()["status"] for i in ids}
            if states == {"delivered"}:
                break
            assert time.monotonic() < deadline, f"still {states}"
            time.sleep(0.2)
    finally:
        for client in clients:
            client.close()
        _stop(server)
    assert server.returncode == 0
