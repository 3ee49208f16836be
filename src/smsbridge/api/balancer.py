"""`serve --workers N`: one process accepts every connection and hands it to the worker
holding the fewest.

With a listening socket shared by all workers the kernel picks who accepts, and it picks
unevenly: a handful of keep-alive clients can all land on one worker while the other idles,
which halves throughput exactly when a few busy clients (an SDK, a batch importer) matter
most. Handing each accepted socket over a Unix socket pair keeps the load even for the
price of one sendmsg per connection. The balancer also restarts a worker that dies.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import selectors
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from smsbridge.api.handoff import CLOSED, HANDOFF, READY, run_worker

logger = logging.getLogger("uvicorn.error")
_spawn = multiprocessing.get_context("spawn")

# A worker gets this long to finish its open requests and shut down before it is killed.
STOP_GRACE_SECONDS = 15.0


@dataclass
class _Worker:
    index: int
    process: BaseProcess
    channel: socket.socket
    open: int = 0
    ready: bool = False
    alive: bool = True


class Balancer:
    """Owns the listening socket and the worker processes."""

    def __init__(self, config: uvicorn.Config, count: int) -> None:
        self.config = config
        self.count = count
        self.selector = selectors.DefaultSelector()
        self.workers: list[_Worker] = []
        self.turn = 0  # breaks ties round-robin
        self.stopping = False
        self.exit_code = 0

    def run(self) -> int:
        """Serve until SIGINT/SIGTERM; the exit status is non-zero if a worker cannot start."""
        listener = self.config.bind_socket()
        listener.listen(self.config.backlog)
        listener.setblocking(False)
        logger.info("Started balancer process [%d]", os.getpid())
        wake_read, wake_write = socket.socketpair()
        wake_read.setblocking(False)
        wake_write.setblocking(False)
        previous_wakeup = signal.set_wakeup_fd(wake_write.fileno())
        stops = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in stops}
        self.selector.register(wake_read, selectors.EVENT_READ, lambda: _drain(wake_read))
        self.selector.register(listener, selectors.EVENT_READ, lambda: self._accept(listener))
        try:
            for index in range(self.count):
                self.workers.append(self._start(index))
            while not self.stopping:
                for key, _ in self.selector.select():
                    callback: Callable[[], None] = key.data
                    callback()
        finally:
            self.selector.unregister(listener)
            listener.close()
            self._stop_workers()
            signal.set_wakeup_fd(previous_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            wake_read.close()
            wake_write.close()
            self.selector.close()
        return self.exit_code

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stopping = True

    # Workers

    def _start(self, index: int) -> _Worker:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        process = _spawn.Process(
            target=run_worker, args=(self.config, theirs),
            name=f"smsbridge-worker-{index}",
        )  # fmt: skip
        process.start()
        theirs.close()
        ours.setblocking(False)
        worker = _Worker(index, process, ours)
        self.selector.register(ours, selectors.EVENT_READ, lambda: self._hear(worker))
        self.selector.register(process.sentinel, selectors.EVENT_READ, lambda: self._ended(worker))
        return worker

    def _hear(self, worker: _Worker) -> None:
        while worker.alive:
            try:
                message = worker.channel.recv(16)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                message = b""
            if message == CLOSED:
                worker.open = max(0, worker.open - 1)
            elif message == READY:
                worker.ready = True
            elif not message:  # the worker is exiting; its sentinel says when it is gone
                self.selector.unregister(worker.channel)
                worker.alive = False
                return

    def _ended(self, worker: _Worker) -> None:
        self.selector.unregister(worker.process.sentinel)
        if worker.alive:
            self.selector.unregister(worker.channel)
            worker.alive = False
        worker.channel.close()
        worker.process.join()
        code = worker.process.exitcode
        if self.stopping:
            return
        if not worker.ready:
            logger.error("Worker [%s] could not start (exit code %s); stopping", worker.process.pid,
                         code)  # fmt: skip
            self.exit_code = STARTUP_FAILURE
            self.stopping = True
            return
        logger.warning("Worker [%s] ended (exit code %s); starting another", worker.process.pid,
                       code)  # fmt: skip
        self.workers[worker.index] = self._start(worker.index)

    def _stop_workers(self) -> None:
        for worker in self.workers:
            if worker.process.is_alive():
                worker.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in self.workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                logger.error("Worker [%s] did not stop in time; killing it", worker.process.pid)
                worker.process.kill()
                worker.process.join()
            worker.channel.close()

    # Connections

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. out of descriptors: let the backlog wait a moment
                logger.error("Cannot accept a connection: %s", exc)
                time.sleep(0.05)
                return
            with connection:  # the worker holds its own copy once handed over
                self._hand_over(connection)

    def _hand_over(self, connection: socket.socket) -> None:
        count = len(self.workers)
        candidates = sorted(
            (w for w in self.workers if w.alive),
            key=lambda w: (w.open, (w.index - self.turn) % count),
        )
        for worker in candidates:
            try:
                socket.send_fds(worker.channel, [HANDOFF], [connection.fileno()])
            except OSError:
                continue  # its queue is full or it is exiting: try the next
            worker.open += 1
            self.turn = worker.index + 1
            return
        logger.warning("No worker could take a connection; it was closed")


def _drain(wake: socket.socket) -> None:
    try:
        while wake.recv(64):
            pass
    except (BlockingIOError, InterruptedError):
        pass


def serve_balanced(app: str, count: int, **options: Any) -> int:
    """Run `count` workers of the ASGI factory `app` behind one balancer."""
    return Balancer(uvicorn.Config(app, factory=True, **options), count).run()
