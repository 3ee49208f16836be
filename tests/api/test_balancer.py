"""The connection balancer of `serve --workers N`, run as a real process tree over TCP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


class Balanced:
    def __init__(self, app: str, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        code = (
            "from smsbridge.api.balancer import serve_balanced\n"
            f"raise SystemExit(serve_balanced({app!r}, {workers}, host='127.0.0.1', "
            f"port={self.port}, loop='uvloop', http='httptools', timeout_graceful_shutdown=5))"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def wait_for(self, workers: int) -> set[int]:
        """Waits until `workers` distinct workers answered (on fresh connections)."""
        seen: set[int] = set()
        deadline = time.monotonic() + 30
        while len(seen) < workers:
            assert time.monotonic() < deadline, f"only {len(seen)} of {workers} workers answered"
            try:
                seen.add(int(httpx.get(self.url, timeout=2).text))
            except httpx.TransportError:
                time.sleep(0.1)
        return seen

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            output, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        return output


@pytest.fixture
def balanced() -> Iterator[Balanced]:
    server = Balanced("tests.api.balancer_apps:pid_app", 2)
    try:
        server.wait_for(2)
        yield server
    finally:
        server.stop()


def _pids(clients: list[httpx.Client], url: str) -> list[int]:
    return [int(client.get(url).text) for client in clients]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_keep_alive_clients_are_spread_evenly_and_freed_places_are_refilled(
    balanced: Balanced,
) -> None:
    clients = [httpx.Client() for _ in range(6)]
    try:
        pids = _pids(clients, balanced.url)
        assert sorted(Counter(pids).values()) == [3, 3]
        assert _pids(clients, balanced.url) == pids  # each connection stays with its worker
        # Free every connection of one worker: the next three all go there.
        emptied = pids[0]
        for client, pid in zip(clients, pids, strict=True):
            if pid == emptied:
                client.close()
        time.sleep(1)  # the worker reports each closed connection
        newcomers = [httpx.Client() for _ in range(3)]
        clients += newcomers
        assert _pids(newcomers, balanced.url) == [emptied] * 3
    finally:
        for client in clients:
            client.close()


def test_a_worker_that_dies_is_replaced(balanced: Balanced) -> None:
    first, second = sorted(balanced.wait_for(2))
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while True:
        clients = [httpx.Client() for _ in range(2)]
        try:
            pids = set(_pids(clients, balanced.url))
        finally:
            for client in clients:
                client.close()
        if len(pids) == 2 and first not in pids:
            break
        assert time.monotonic() < deadline, "no replacement worker answered"
        time.sleep(0.2)
    assert second in pids
    output = balanced.stop()
    assert f"Worker [{first}] ended (exit code -9); starting another" in output


def test_sigterm_stops_the_balancer_and_every_worker(balanced: Balanced) -> None:
    workers = balanced.wait_for(2)
    with httpx.Client() as client:  # an idle keep-alive connection does not hold the stop up
        client.get(balanced.url)
        balanced.process.send_signal(signal.SIGTERM)
        assert balanced.process.wait(timeout=20) == 0
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "a worker outlived the balancer"
        time.sleep(0.1)
    with pytest.raises(httpx.ConnectError):
        httpx.get(balanced.url, timeout=2)


def test_a_worker_that_cannot_start_stops_the_server_with_a_clear_error() -> None:
    server = Balanced("tests.api.balancer_apps:broken_app", 2)
    try:
        assert server.process.wait(timeout=60) == 3
    finally:
        output = server.stop()
    assert "this app cannot start" in output
    assert "could not start (exit code 1); stopping" in output
